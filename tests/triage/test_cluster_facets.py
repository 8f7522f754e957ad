"""The trees (branches, configs, arches, tests) each cluster has crashes in, kept as crashes are filed
and counted again when a cluster loses some: what the clusters list filters by."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from tests.triage.factories import make_report, make_run
from triage import clusters as filing
from triage.analysis import save_analysis
from triage.models import Cluster, ClusterFacet, Crash
from workers.report import ParsedLog

pytestmark = pytest.mark.django_db

ALPHA = make_report("WARNING in alpha_fn", ["alpha_fn"], kind="WARNING")
BETA = make_report("WARNING in beta_fn", ["beta_fn"], kind="WARNING")


def trees(cluster: Cluster) -> set[str]:
    return set(ClusterFacet.objects.filter(cluster=cluster, name="tree").values_list("value", flat=True))


def cluster_of(title: str) -> Cluster:
    return Cluster.objects.get(title=title)


def listed(client, **filters) -> set[str]:
    page = client.get("/clusters/", filters).content.decode()
    return {title for title in ("WARNING in alpha_fn", "WARNING in beta_fn") if title in page}


def test_a_filed_crash_adds_its_runs_tree_config_and_test_to_its_cluster(client):
    make_run("c1", reports=[ALPHA], tree="mainline", config="kasan", test="boot")
    make_run("c2", reports=[ALPHA, BETA], tree="next", config="", test="ltp")
    alpha = cluster_of("WARNING in alpha_fn")
    assert trees(alpha) == {"mainline", "next"} and trees(cluster_of("WARNING in beta_fn")) == {"next"}
    assert not ClusterFacet.objects.filter(name="config", value="").exists()
    assert listed(client, tree="mainline") == {"WARNING in alpha_fn"}
    assert listed(client, test="ltp") == {"WARNING in alpha_fn", "WARNING in beta_fn"}


def test_a_merge_moves_its_facets_and_a_split_counts_both_clusters_again(client):
    make_run("c1", reports=[ALPHA], tree="mainline")
    make_run("c2", reports=[BETA], tree="next")
    alpha, beta = cluster_of("WARNING in alpha_fn"), cluster_of("WARNING in beta_fn")
    filing.merge(beta.pk, alpha.pk)
    assert trees(alpha) == {"mainline", "next"} and not ClusterFacet.objects.filter(cluster=beta).exists()
    assert listed(client, tree="next") == {"WARNING in alpha_fn"}
    new = filing.split(alpha.pk, ["WARNING in beta_fn"], "beta again")
    assert trees(alpha) == {"mainline"} and trees(new) == {"next"}
    assert "beta again" in client.get("/clusters/", {"tree": "next"}).content.decode()
    assert listed(client, tree="next") == set()


def test_a_reanalysis_that_files_a_crash_elsewhere_takes_its_tree_from_the_old_cluster(client):
    make_run("c1", reports=[ALPHA], tree="mainline")
    make_run("c2", reports=[BETA], tree="mainline")
    log = make_run("c3", tree="next")
    save_analysis(log, ParsedLog(reports=[ALPHA]))
    assert trees(cluster_of("WARNING in alpha_fn")) == {"mainline", "next"}
    save_analysis(log, ParsedLog(reports=[BETA]))  # a parser upgrade names the same report otherwise
    assert Crash.objects.get(log=log).cluster == cluster_of("WARNING in beta_fn")
    assert trees(cluster_of("WARNING in alpha_fn")) == {"mainline"}
    assert trees(cluster_of("WARNING in beta_fn")) == {"mainline", "next"}
    assert listed(client, tree="next") == {"WARNING in beta_fn"}


class StatementsRunner:
    connection = connection

    def execute(self, sql: str, params) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def test_the_migration_fills_the_facets_of_the_crashes_stored_before_it():
    make_run("c1", reports=[ALPHA, BETA], tree="mainline", arch="arm64")
    make_run("c2", reports=[ALPHA], tree="next", arch="x86_64")
    kept = set(ClusterFacet.objects.values_list("cluster_id", "name", "value"))
    ClusterFacet.objects.all().delete()
    migration = importlib.import_module("triage.migrations.0024_cluster_facets")
    migration.fill(None, StatementsRunner())  # what it asks of a schema editor (SQLite's refuses a test's transaction)
    assert set(ClusterFacet.objects.values_list("cluster_id", "name", "value")) == kept
    assert len(kept) == 6  # alpha: 2 trees, 2 arches; beta: 1 and 1


def sections(cluster: Cluster) -> set[str]:
    return set(ClusterFacet.objects.filter(cluster=cluster, name="subsystem").values_list("value", flat=True))


def test_a_crash_refiled_under_another_section_moves_its_cluster_there_unless_another_crash_stays(client):
    from triage import cluster_facets

    first = make_run("c1", reports=[ALPHA], subsystem=["BPF", "NETWORKING [GENERAL]"])
    make_run("c2", reports=[ALPHA], subsystem="NETWORKING [GENERAL]")
    alpha = cluster_of("WARNING in alpha_fn")
    assert sections(alpha) == {"BPF", "NETWORKING [GENERAL]"}
    assert listed(client, subsystem="bpf") == {"WARNING in alpha_fn"}
    crash = Crash.objects.get(log=first)
    before = {crash.pk: crash.subsystems}
    Crash.objects.filter(pk=crash.pk).update(subsystems="|XDP|")  # its decoded guilty frame is elsewhere
    crash.refresh_from_db()
    cluster_facets.sections_filed([crash], before)
    assert sections(alpha) == {"XDP", "NETWORKING [GENERAL]"}
    assert listed(client, subsystem="BPF") == set()

"""The API's lists: every filter a bot needs, unknown or malformed parameters refused, strict pages."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.triage.factories import make_report, make_run, make_token
from triage.models import Build, Cluster, Crash, Log

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()}")
    return client


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def runs():
    """Two runs that differ in every metadata field; the second crashes twice."""
    a = make_run("aaa111", tree="mainline", branch="master", config="defconfig", arch="x86_64", test="boot",
                 machine="qemu-1", run_id="1")
    b = make_run("bbb222", tree="next", branch="pending", config="kasan", arch="arm64", test="ltp",
                 machine="rpi-4", run_id="2", parent="aaa111", status=Log.Status.FAILED,
                 reports=[make_report("KASAN: use-after-free Read in foo_read", ["foo_read", "vfs_read"],
                                      kind="KASAN"),
                          make_report("WARNING in bar_write", ["bar_write"], kind="WARNING")])
    Log.objects.filter(pk=b.pk).update(crash_count=2)
    return a, b


@pytest.mark.parametrize("field, value", [
    ("tree", "next"), ("branch", "pending"), ("commit", "bbb222"), ("config", "kasan"), ("arch", "arm64"),
    ("test", "ltp"), ("machine", "rpi-4"), ("run_id", "2"), ("parent", "aaa111"), ("status", "failed"),
    ("has_crashes", "true"),
])
def test_logs_filter_by_each_metadata_field_and_status(api, runs, field, value):
    assert ids(api.get("/api/logs/", {field: value})) == {runs[1].pk}


def test_logs_filter_by_upload_time_range(api, runs):
    a, b = runs
    Log.objects.filter(pk=a.pk).update(created="2026-01-01T00:00:00Z")
    Log.objects.filter(pk=b.pk).update(created="2026-03-01T00:00:00Z")
    assert ids(api.get("/api/logs/", {"created_after": "2026-02-01T00:00:00Z"})) == {b.pk}
    assert ids(api.get("/api/logs/", {"created_before": "2026-02-01T00:00:00Z"})) == {a.pk}
    assert ids(api.get("/api/logs/", {"created_after": "2025-12-01", "created_before": "2026-04-01"})) == {a.pk, b.pk}
    # an offset PostgreSQL would refuse is read as the same instant in UTC
    assert ids(api.get("/api/logs/", {"created_after": "2026-01-31T03:56:00-20:04"})) == {b.pk}


@pytest.mark.parametrize("field, value, expected", [
    ("kind", "KASAN", ["KASAN: use-after-free Read in foo_read"]),
    ("title", "use-AFTER-free", ["KASAN: use-after-free Read in foo_read"]),
    ("guilty_function", "bar_write", ["WARNING in bar_write"]),
    ("commit", "bbb222", ["KASAN: use-after-free Read in foo_read", "WARNING in bar_write"]),
])
def test_crashes_filter_by_kind_title_substring_guilty_function_and_commit(api, runs, field, value, expected):
    rows = api.get("/api/crashes/", {field: value}).json()["results"]
    assert sorted(r["title"] for r in rows) == expected


def test_crashes_filter_by_log_and_by_cluster_following_merges(api, runs):
    a, b = runs
    other = make_run("ccc", reports=[make_report("WARNING in bar_write", ["bar_write"], kind="WARNING")])
    assert ids(api.get("/api/crashes/", {"log": b.pk})) == set(b.crashes.values_list("id", flat=True))
    assert ids(api.get("/api/crashes/", {"log": a.pk})) == set()
    warning = Cluster.objects.get(title="WARNING in bar_write")
    expected = set(Crash.objects.filter(title="WARNING in bar_write").values_list("id", flat=True))
    assert len(expected) == 2
    assert ids(api.get("/api/crashes/", {"cluster": warning.pk})) == expected
    from triage.clusters import merge

    kasan = Cluster.objects.get(title__startswith="KASAN")
    merge(warning.pk, kasan.pk)
    assert other.pk and ids(api.get("/api/crashes/", {"cluster": warning.pk})) == \
        set(Crash.objects.values_list("id", flat=True))


@pytest.mark.parametrize("field, value, title", [
    ("status", "fixed", "WARNING in bar_write"),
    ("title", "BAR_WRITE", "WARNING in bar_write"),
    ("kind", "KASAN", "KASAN: use-after-free Read in foo_read"),
    ("guilty_function", "foo_read", "KASAN: use-after-free Read in foo_read"),
])
def test_clusters_filter_by_status_title_kind_and_guilty_function(api, runs, field, value, title):
    Cluster.objects.filter(title="WARNING in bar_write").update(status=Cluster.Status.FIXED)
    rows = api.get("/api/clusters/", {field: value}).json()["results"]
    assert [r["title"] for r in rows] == [title]


def test_crashes_and_clusters_filter_by_subsystem(api, runs):
    from triage.cluster_facets import recount_sections

    Crash.objects.filter(title__startswith="KASAN").update(subsystem="MEMORY MANAGEMENT",
                                                           subsystems="|MEMORY MANAGEMENT|")
    recount_sections(set(Cluster.objects.values_list("pk", flat=True)))  # as a re-filing does (subsystem_refresh)
    rows = api.get("/api/crashes/", {"subsystem": "MEMORY MANAGEMENT"}).json()["results"]
    assert [r["title"] for r in rows] == ["KASAN: use-after-free Read in foo_read"]
    rows = api.get("/api/clusters/", {"subsystem": "MEMORY MANAGEMENT"}).json()["results"]
    assert [r["title"] for r in rows] == ["KASAN: use-after-free Read in foo_read"]


@pytest.mark.parametrize("field, value", [("buildid", "beef"), ("release", "6.12.0-rc1"), ("commit", "c0ffee"),
                                          ("arch", "arm64"), ("index_status", "ready")])
def test_builds_filter_by_build_id_release_commit_arch_and_state(api, field, value):
    wanted = Build.objects.create(buildid="beef", release="6.12.0-rc1", commit="c0ffee", arch="arm64",
                                  index_status=Build.Index.READY)
    Build.objects.create(buildid="dead", release="6.11.0", commit="abc", arch="x86_64")
    assert ids(api.get("/api/builds/", {field: value})) == {wanted.pk}


@pytest.mark.parametrize("url, params, name", [
    ("/api/crashes/", {"cluser": "1"}, "cluser"),
    ("/api/logs/", {"comit": "abc"}, "comit"),
    ("/api/clusters/", {"search": "x"}, "search"),
    ("/api/builds/", {"build_id": "x"}, "build_id"),
    ("/api/compare/", {"base_commit": "a", "target_commit": "b", "robut": "1"}, "robut"),
])
def test_an_unknown_query_parameter_is_a_400_naming_it(api, runs, url, params, name):
    response = api.get(url, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_parameter" and name in body["fields"] and name in body["error"]


@pytest.mark.parametrize("url, params, name", [
    ("/api/crashes/", {"log": "fifteen"}, "log"),
    ("/api/crashes/", {"cluster": "99999999999999999999999"}, "cluster"),
    ("/api/crashes/", {"corrupted": "maybe"}, "corrupted"),
    ("/api/logs/", {"status": "exploded"}, "status"),
    ("/api/logs/", {"created_after": "yesterday"}, "created_after"),
    ("/api/logs/", {"created_after": "9999-12-31T23:00:00-20:04"}, "created_after"),
    ("/api/clusters/", {"status": "wontfix"}, "status"),
    ("/api/clusters/", {"limit": "ten"}, "limit"),
    ("/api/clusters/", {"limit": "1000000000000"}, "limit"),
    ("/api/clusters/", {"limit": "0"}, "limit"),
    ("/api/clusters/", {"offset": "-5"}, "offset"),
    ("/api/clusters/", {"page": "0"}, "page"),
    ("/api/logs/", {"limit": "9" * 40}, "limit"),
    ("/api/logs/", {"cursor": "not-a-cursor"}, "cursor"),
])
def test_a_malformed_value_is_a_400_naming_the_parameter(api, runs, url, params, name):
    response = api.get(url, params)
    assert response.status_code == 400, response.content
    assert name in response.json()["fields"]


def test_a_page_past_the_end_is_a_404_not_the_first_page(api, runs):
    assert api.get("/api/clusters/", {"page": "1"}).status_code == 200
    response = api.get("/api/clusters/", {"page": "99"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found" and "past the end" in response.json()["error"]
    assert api.get("/api/clusters/", {"offset": "2"}).status_code == 404
    assert api.get("/api/clusters/", {"offset": "1", "limit": "1"}).json()["count"] == 2


def test_large_lists_page_with_cursors_without_gaps_or_repeats(api):
    made = {make_run(f"c{i}").pk for i in range(7)}
    seen, url = [], "/api/logs/?limit=3"
    while url:
        body = api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen, reverse=True) == seen and set(seen) == made and len(seen) == 7


def test_every_error_has_one_shape(api):
    for response in (api.get("/api/crashes/12345/"), api.get("/api/nothing-here/"), APIClient().post("/api/logs/"),
                     api.get("/api/logs/", {"status": "x"})):
        body = response.json()
        assert response.status_code in (400, 401, 403, 404)
        assert isinstance(body["error"], str) and body["error"] and isinstance(body["code"], str)
        assert set(body) <= {"error", "code", "fields"}


def test_schema_is_openapi_json_and_documents_filters_and_errors(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    crashes = schema["paths"]["/api/crashes/"]["get"]
    assert {"log", "cluster", "kind", "title", "guilty_function", "cursor", "limit"} <= \
        {p["name"] for p in crashes["parameters"]}
    assert {"400", "401", "403", "429"} <= set(crashes["responses"])
    assert "Error" in schema["components"]["schemas"]


def test_docs_page_loads_swagger_ui_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    scripts = [line for line in html.splitlines() if "<script src" in line or "stylesheet" in line]
    assert scripts and all("//" not in line.split("src=")[-1].split("href=")[-1][:10] for line in scripts), scripts
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200

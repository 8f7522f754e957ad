"""What triage stores: kernel builds, uploaded logs (= runs), the crashes found in them, clusters.

Raw uploads are stored first and kept forever; everything else (crashes, stat keys, decoded traces,
cluster membership) is derived by Celery tasks and can be recomputed from the raw bytes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class Build(models.Model):
    """A kernel build: a vmlinux (with DWARF) and its modules, identified by build id / release."""

    class Index(models.TextChoices):
        NONE = "none", "no vmlinux"
        QUEUED = "queued", "queued"
        BUILDING = "building", "indexing"
        READY = "ready", "ready"
        FAILED = "failed", "failed"

    release = models.CharField(max_length=200, blank=True, db_index=True)  # `uname -r`
    buildid = models.CharField(max_length=80, blank=True, db_index=True)  # vmlinux GNU build-id, hex
    arch = models.CharField(max_length=32, blank=True)
    tree = models.CharField(max_length=200, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    commit = models.CharField(max_length=64, blank=True, db_index=True)
    config = models.CharField(max_length=200, blank=True)
    index_status = models.CharField(max_length=16, choices=Index.choices, default=Index.NONE)
    index_progress = models.PositiveSmallIntegerField(default=0)  # percent, for the UI
    index_error = models.TextField(blank=True)
    index_dir = models.CharField(max_length=500, blank=True)  # on shared storage
    attempts = models.PositiveSmallIntegerField(default=0)  # index tasks started and not finished
    # Reliability (triage.queueing): which queuing is current, when it was sent, the running task's
    # last sign of life; the sweeper re-queues rows whose task is gone.
    task_token = models.CharField(max_length=32, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    uploaded_token = models.ForeignKey("ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.release or self.buildid or f"build {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("build", args=[self.pk])


class BuildFile(models.Model):
    """One file of a build: the vmlinux, a module .ko, or a separate debug file."""

    class Kind(models.TextChoices):
        VMLINUX = "vmlinux"
        MODULE = "module"
        DEBUG = "debug"
        TARBALL = "tarball"  # a modules tarball, checked and extracted by the index task

    build = models.ForeignKey(Build, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=255)  # "vmlinux", "lkdtm.ko"
    path = models.CharField(max_length=500)  # relative to MEDIA_ROOT, uncompressed
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    buildid = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["build", "kind", "name"], name="unique_build_file")]


class Log(models.Model):
    """An uploaded console log: one run of a test on a build. Runs without a crash count too."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    # Identity: the same bytes with the same metadata are the same upload (idempotent re-uploads).
    fingerprint = models.CharField(max_length=64, unique=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    raw = models.CharField(max_length=500)  # path of the stored bytes, relative to MEDIA_ROOT
    filename = models.CharField(max_length=255, blank=True)

    tree = models.CharField(max_length=200, blank=True, db_index=True)
    branch = models.CharField(max_length=200, blank=True, db_index=True)
    commit = models.CharField(max_length=64, blank=True, db_index=True)
    config = models.CharField(max_length=200, blank=True, db_index=True)
    arch = models.CharField(max_length=32, blank=True, db_index=True)
    test = models.CharField(max_length=200, blank=True, db_index=True)
    machine = models.CharField(max_length=200, blank=True, db_index=True)
    run_id = models.CharField(max_length=200, blank=True)
    parent = models.CharField(max_length=64, blank=True)  # the commit this one is based on (robot's "base")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(blank=True)
    # Tasks started on this log and not finished: a worker killed mid-task (out of memory) leaves it
    # set, and a log that keeps killing workers is given up on instead of being redelivered forever.
    attempts = models.PositiveIntegerField(default=0)
    decode_attempts = models.PositiveSmallIntegerField(default=0)
    # Decoding of the log's crashes (triage.decode_queue): the queuing its message carries (cleared
    # when a worker takes it), the last sign of life (queued, taken, heartbeat) and the sweeper's
    # re-sends since a decode last finished.
    decode_token = models.CharField(max_length=32, blank=True)
    decode_beat = models.DateTimeField(null=True, blank=True)
    decode_requeues = models.PositiveSmallIntegerField(default=0)
    analyses = models.PositiveIntegerField(default=0)  # analyses saved (re-analysis adds one; bench/api_bots.py)
    # Reliability (triage.queueing): as on Build.
    task_token = models.CharField(max_length=32, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    uploaded_token = models.ForeignKey("ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    processed = models.DateTimeField(null=True, blank=True)

    # Filled by the analysis task.
    release = models.CharField(max_length=200, blank=True)
    buildid = models.CharField(max_length=80, blank=True)
    build = models.ForeignKey(Build, null=True, blank=True, on_delete=models.SET_NULL, related_name="logs")
    stat_source = models.CharField(max_length=8, default="dmesg")
    crash_count = models.PositiveIntegerField(default=0)
    # Reports past TRIAGE_MAX_REPORTS_PER_LOG: counted, not stored (syzkaller keeps the first ones too).
    reports_dropped = models.PositiveIntegerField(default=0)
    # What the parser lists beside crashes (OOM kills, NMI backtraces): [{"title", "kind", "start_line",
    # "end_line"}]. Not crashes (syzbot does not count them), but worth seeing on the log's page.
    notices = models.JSONField(default=list, blank=True)

    METADATA = ("tree", "branch", "commit", "config", "arch", "test", "machine", "run_id", "parent")
    JOB = ("tree", "branch", "config", "arch", "test")  # what CI runs again and again, on each commit

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.filename or f"log {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("log", args=[self.pk])


class StatKey(models.Model):
    """One 0-day stat key of a run (`dmesg.BUG:KASAN:...`), counted once per run: fail:runs rows."""

    log = models.ForeignKey(Log, on_delete=models.CASCADE, related_name="stat_keys")
    key = models.CharField(max_length=500, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["log", "key"], name="unique_log_key")]


class Cluster(models.Model):
    """A group of crashes that are the same bug. Merged clusters point at the one they joined."""

    title = models.CharField(max_length=500)
    kind = models.CharField(max_length=64, blank=True)
    corrupted = models.BooleanField(default=False)  # the one bucket for corrupted reports
    guilty_function = models.CharField(max_length=200, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged")
    # Denormalized for list pages; recomputed by `refresh_stats()` when crashes join or leave.
    crash_count = models.PositiveIntegerField(default=0)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True, db_index=True)
    created = models.DateTimeField(auto_now_add=True)

    # workers.cluster.frame_signature of its first crash: what similar() compares across titles.
    signature = models.JSONField(default=list, blank=True)

    class Status(models.TextChoices):
        OPEN = "open"
        FIXED = "fixed"
        INVALID = "invalid"
        DUPLICATE = "duplicate"

    # Triage state: who said what of this bug. History is in ClusterEvent.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    fixed_commit = models.CharField(max_length=64, blank=True)  # with status fixed
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="duplicates")  # with status duplicate
    status_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    status_changed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        # Merges, splits, renames, status, links, notes and re-queueing: granted through the
        # "triagers" group (see triage.permissions), not to every account.
        permissions = [("triage_clusters", "Can triage: edit clusters and their status, re-queue analyses")]
        constraints = [
            # several workers may meet their first corrupted report at once: one bucket only
            models.UniqueConstraint(fields=["corrupted"], condition=models.Q(corrupted=True),
                                    name="one_corrupted_cluster"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("cluster", args=[self.pk])

    def refresh_stats(self) -> None:
        agg = self.crashes.aggregate(n=models.Count("id"), first=models.Min("log__created"),
                                     last=models.Max("log__created"))
        self.crash_count, self.first_seen, self.last_seen = agg["n"], agg["first"], agg["last"]
        self.save(update_fields=["crash_count", "first_seen", "last_seen"])


class ClusterTitle(models.Model):
    """Title key -> cluster: how a new crash finds its cluster. Merges move rows, so they stick.

    `title` is `workers.cluster.title_key()` of a crash title (or alternative title), unique: one
    owner per key. `source` says which index of the engine the row feeds: a cluster's own titles,
    its alternative titles, or an alias made by a person (merge, split), which wins over both.
    """

    class Source(models.TextChoices):
        TITLE = "title"
        ALT = "alt", "alternative title"
        ALIAS = "alias", "merged or split by a person"

    title = models.CharField(max_length=500, unique=True)
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="titles")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.TITLE)


class ClusterEvent(models.Model):
    """Who merged, split or renamed what, and when."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16)  # merge | split | rename
    detail = models.TextField(blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]


class Crash(models.Model):
    """One crash report found in a log."""

    class Decode(models.TextChoices):
        WAITING = "waiting", "waiting for a matching build"
        QUEUED = "queued"
        DONE = "done"
        FAILED = "failed"

    log = models.ForeignKey(Log, on_delete=models.CASCADE, related_name="crashes")
    index = models.PositiveIntegerField()  # position of the report in its log; 0 is the primary
    title = models.CharField(max_length=500, db_index=True)
    alt_titles = models.JSONField(default=list)
    kind = models.CharField(max_length=64, blank=True, db_index=True)
    corrupted = models.BooleanField(default=False)
    guilty_function = models.CharField(max_length=200, blank=True)
    report = models.JSONField(default=dict)  # workers.report.Report.to_dict()
    start_line = models.PositiveIntegerField(default=0)
    end_line = models.PositiveIntegerField(default=0)
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="crashes")
    decode_status = models.CharField(max_length=16, choices=Decode.choices, default=Decode.WAITING)
    decode_error = models.TextField(blank=True)
    decoded = models.JSONField(null=True, blank=True)  # symbolized frames and Code: blocks
    # Function names and source files of the frames, printed and decoded: what the search box matches
    # (triage.search.crash_search_text; trigram-indexed on PostgreSQL).
    search_text = models.TextField(blank=True, default="")
    # The source file the crash points at (decoded guilty frame, else `kernel BUG at` / `WARNING: at`)
    # and its most specific MAINTAINERS section: triage.subsystems fills both.
    guilty_file = models.CharField(max_length=300, blank=True, default="")
    subsystem = models.CharField(max_length=200, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["-log__created", "index"]
        constraints = [models.UniqueConstraint(fields=["log", "index"], name="unique_log_report")]
        # A cluster's pages count and group its crashes by their logs: with the id included, PostgreSQL
        # answers from this index alone instead of visiting crash rows spread over the whole table.
        indexes = [models.Index(fields=["cluster", "log"], include=["id"], name="crash_cluster_log")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("crash", args=[self.pk])


# --- series and regressions (issue 9) -------------------------------------------------------------


class SeriesCommit(models.Model):
    """A commit of a tree/branch: series order is the first arrival of a run, after a named parent."""

    tree = models.CharField(max_length=200, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    commit = models.CharField(max_length=64)
    parent = models.CharField(max_length=64, blank=True)  # the first upload that named one wins
    first_seen = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tree", "branch", "commit"], name="unique_series_commit")]


class Job(models.Model):
    """What CI runs again and again (Log.JOB); runs of a job on two commits are compared."""

    tree = models.CharField(max_length=200, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    config = models.CharField(max_length=200, blank=True)
    arch = models.CharField(max_length=32, blank=True)
    test = models.CharField(max_length=200, blank=True)
    check_queued = models.DateTimeField(null=True, blank=True)  # debounce: a check task is on its way
    checked = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tree", "branch", "config", "arch", "test"],
                                               name="unique_job")]

    def __str__(self) -> str:
        return " ".join(v for v in (self.tree, self.branch, self.config, self.arch, self.test) if v) or "any"

    def filters(self, prefix: str = "") -> dict[str, str]:
        return {prefix + f: getattr(self, f) for f in Log.JOB}


class Regression(models.Model):
    """A cluster or stat key failing on a commit of a job and never on the commit before it."""

    class State(models.TextChoices):
        SUSPECTED = "suspected"  # Fisher's test cannot call it yet (one run each side)
        CONFIRMED = "confirmed"
        DISMISSED = "dismissed"  # it fails on the last good commit too

    class Kind(models.TextChoices):
        NEW = "new", "new failure"
        AFTER_FIX = "after_fix", "seen again after fix"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="regressions")
    key = models.CharField(max_length=500)  # engine key: "cluster:<pk>" or a stat key
    keys = models.JSONField(default=list)  # every key that regressed with it (stat keys, clusters)
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="regressions")
    title = models.CharField(max_length=500)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NEW)
    state = models.CharField(max_length=16, choices=State.choices, db_index=True)
    first_bad_commit = models.CharField(max_length=64)
    last_good_commit = models.CharField(max_length=64, blank=True)
    latest_bad_commit = models.CharField(max_length=64, blank=True)
    bad_commits = models.PositiveIntegerField(default=1)
    fail_bad = models.PositiveIntegerField(default=0)
    runs_bad = models.PositiveIntegerField(default=0)
    fail_good = models.PositiveIntegerField(default=0)
    runs_good = models.PositiveIntegerField(default=0)
    p_value = models.FloatField(default=1.0)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.UniqueConstraint(fields=["job", "key", "first_bad_commit"], name="unique_regression")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("regression", args=[self.pk])


class ClusterLink(models.Model):
    """A bug report, patch or discussion about a cluster: a URL with a label (triage state, issue 9)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="links")
    url = models.URLField(max_length=1000)
    label = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]


class Subscription(models.Model):
    """Who gets digests of what: a person (their address) or a team list set up by an admin."""

    class Frequency(models.TextChoices):
        DAILY = "daily"
        WEEKLY = "weekly"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="subscriptions")
    email = models.EmailField(blank=True, help_text="a team address (mailing list); empty: the user's own")
    name = models.CharField(max_length=100, blank=True)
    tree = models.CharField(max_length=200, blank=True)  # the job filters: empty matches any
    branch = models.CharField(max_length=200, blank=True)
    config = models.CharField(max_length=200, blank=True)
    arch = models.CharField(max_length=32, blank=True)
    test = models.CharField(max_length=200, blank=True)
    # A MAINTAINERS section (Crash.subsystem): regressions and new clusters with crashes in it; empty: any.
    subsystem = models.CharField(max_length=200, blank=True, default="")
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.DAILY)
    clusters = models.BooleanField(default=False, help_text="also new crash clusters, not only regressions")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    last_sent = models.DateTimeField(null=True, blank=True)  # last digest run that handled it

    def __str__(self) -> str:
        return self.name or f"{self.address} {self.frequency}"

    @property
    def address(self) -> str:
        return self.email or (self.user.email if self.user else "")

    def filters(self) -> dict[str, str]:
        """The job filters that are set (matched against a regression's job or a crash's log)."""
        return {f: getattr(self, f) for f in Log.JOB if getattr(self, f)}

    def scope(self) -> dict[str, str]:
        """Everything the subscription narrows by, as people read it: the job filters and the subsystem."""
        return {**self.filters(), **({"subsystem": self.subsystem} if self.subsystem else {})}


class Digest(models.Model):
    """One digest email. Its items are recorded before it is sent: a run that dies never sends twice."""

    class Status(models.TextChoices):
        PENDING = "pending"  # recorded, being sent (left so by a killed run: not sent again)
        SENT = "sent"
        FAILED = "failed"  # the mail server refused or was down: the next run tries again

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="digests")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField()
    message_id = models.CharField(max_length=300)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    sent = models.DateTimeField(null=True, blank=True)


class DigestItem(models.Model):
    """A regression or cluster a subscription was told about: never twice."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="items")
    regression = models.ForeignKey(Regression, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "regression"], condition=models.Q(regression__isnull=False),
                                    name="one_digest_per_regression"),
            models.UniqueConstraint(fields=["subscription", "cluster"], condition=models.Q(cluster__isnull=False),
                                    name="one_digest_per_cluster"),
        ]


# --- API (issue 10): scoped tokens, vanished crashes ----------------------------------------------


class ApiToken(models.Model):
    """A user's named API key with scopes. Only its sha256 is stored: the key is shown once."""

    class Scope(models.TextChoices):
        UPLOAD = "upload", "upload logs and builds"
        READ = "read", "read everything"
        TRIAGE = "triage", "cluster edits and status (needs the triage permission too)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)  # sha256 hex of the key
    prefix = models.CharField(max_length=8)  # the key's first characters, to tell tokens apart
    scopes = models.JSONField(default=list)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class VanishedCrash(models.Model):
    """A crash that a re-analysis no longer finds (parser change): its old URL answers 410 from this."""

    crash_id = models.BigIntegerField(primary_key=True)  # the id the crash had
    log = models.ForeignKey(Log, on_delete=models.CASCADE, related_name="vanished_crashes")
    title = models.CharField(max_length=500)
    start_line = models.PositiveIntegerField(default=0)
    cluster_id = models.BigIntegerField(null=True, blank=True)
    vanished = models.DateTimeField(auto_now_add=True)


class MaintainersFile(models.Model):
    """A kernel MAINTAINERS file uploaded by an admin for a tree ("" for every tree without its own)."""

    tree = models.CharField(max_length=200, blank=True, unique=True)
    text = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"MAINTAINERS of {self.tree or 'every tree'}"


class KcidbImport(models.Model):
    """A KCIDB submission being imported: a worker fetches its tests' log_urls (minutes for a big one,
    which no web request should wait for) while the client polls it. Queued like logs and builds
    (task_token, queued_at, heartbeat: see triage.queueing)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    submission = models.JSONField()  # validated, upgraded to the latest schema
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    uploaded_token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    result = models.JSONField(default=dict, blank=True)  # triage.kcidb.ImportResult.to_dict(), as it goes
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    task_token = models.CharField(max_length=32, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"KCIDB import {self.pk} ({self.status})"

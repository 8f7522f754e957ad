"""Crash.search_text (functions and files of the frames) for the search box, filled for stored crashes,
and on PostgreSQL the pg_trgm extension with trigram GIN indexes for `ILIKE '%word%'` searches.
SQLite has no such index: the same queries scan, which is fine at the sizes SQLite is used for."""

from django.db import migrations, models

TRGM = [
    ("triage_crash_search_trgm", "triage_crash", "search_text"),
    ("triage_crash_title_trgm", "triage_crash", "title"),
    ("triage_cluster_title_trgm", "triage_cluster", "title"),
    ("triage_clustertitle_trgm", "triage_clustertitle", "title"),
    ("triage_statkey_key_trgm", "triage_statkey", "key"),
    ("triage_log_filename_trgm", "triage_log", "filename"),
]


def fill(apps, schema_editor):
    from triage.search import crash_search_text

    Crash = apps.get_model("triage", "Crash")
    batch = []
    for crash in Crash.objects.only("id", "report", "decoded").iterator(chunk_size=2000):
        crash.search_text = crash_search_text(crash.report or {}, crash.decoded)
        batch.append(crash)
        if len(batch) >= 2000:
            Crash.objects.bulk_update(batch, ["search_text"])
            batch = []
    Crash.objects.bulk_update(batch, ["search_text"])


def indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRGM:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)")
    # commit prefixes: a btree usable by LIKE 'abc%' whatever the database's collation
    schema_editor.execute("CREATE INDEX IF NOT EXISTS triage_log_commit_prefix ON triage_log (commit varchar_pattern_ops)")
    schema_editor.execute("CREATE INDEX IF NOT EXISTS triage_log_run_id ON triage_log (run_id)")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in TRGM:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute("DROP INDEX IF EXISTS triage_log_commit_prefix")
    schema_editor.execute("DROP INDEX IF EXISTS triage_log_run_id")


class Migration(migrations.Migration):

    dependencies = [
        ("triage", "0010_merge_reliability_and_digest_subscriptions"),
    ]

    operations = [
        migrations.AddField(
            model_name="crash",
            name="search_text",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(indexes, drop_indexes),
    ]

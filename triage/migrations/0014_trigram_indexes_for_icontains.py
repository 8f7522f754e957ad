"""Trigram indexes that `icontains` can use: Django spells it `UPPER(col::text) LIKE UPPER('%word%')` on
PostgreSQL, which an index on the bare column (0011) never serves. PostgreSQL only; SQLite scans."""

from django.db import migrations

TRGM = [
    ("triage_crash_search_trgm", "triage_crash", "search_text"),
    ("triage_crash_title_trgm", "triage_crash", "title"),
    ("triage_cluster_title_trgm", "triage_cluster", "title"),
    ("triage_clustertitle_trgm", "triage_clustertitle", "title"),
    ("triage_statkey_key_trgm", "triage_statkey", "key"),
    ("triage_log_filename_trgm", "triage_log", "filename"),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRGM:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name}_upper ON {table} "
                              f"USING gin ((UPPER({column}::text)) gin_trgm_ops)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in TRGM:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}_upper")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)")


class Migration(migrations.Migration):

    dependencies = [
        ("triage", "0013_crash_cluster_log_index"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

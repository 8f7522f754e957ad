"""Trigram indexes for the search box's crash lookups on UPPER(REPLACE(col, '_', '0')) (triage.search
`word_contains`): pg_trgm splits words at '_', so the UPPER(col) indexes of 0014 looked `vfs_write` up as
`vfs` and `write` and the heap rechecked three times the rows that matched. PostgreSQL only."""

from django.db import migrations

JOINED = [
    ("triage_crash_search_trgm_joined", "triage_crash", "search_text", "triage_crash_search_trgm_upper"),
    ("triage_crash_title_trgm_joined", "triage_crash", "title", "triage_crash_title_trgm_upper"),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column, old in JOINED:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                              f"USING gin ((UPPER(REPLACE({column}, '_', '0'))) gin_trgm_ops)")
        schema_editor.execute(f"DROP INDEX IF EXISTS {old}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column, old in JOINED:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {old} ON {table} "
                              f"USING gin ((UPPER({column}::text)) gin_trgm_ops)")
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("triage", "0015_merge_log_analyses_and_trigram_indexes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

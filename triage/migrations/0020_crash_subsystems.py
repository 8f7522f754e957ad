"""Crash.subsystems: every MAINTAINERS section of a crash but THE REST, as "|NAME|NAME|", so a filter by
a broader section (MISC DRIVERS) finds a crash whose most specific one is narrower (LKDTM).

Stored crashes get their one stored section here (no MAINTAINERS is parsed in a migration); the broader
ones come with the next re-assignment (a MAINTAINERS upload re-files its tree: triage.subsystem_refresh).
On PostgreSQL a trigram index serves the filters' UPPER(subsystems) LIKE UPPER('%|NAME|%') (`icontains`)."""

from django.db import migrations, models
from django.db.models import F, Value
from django.db.models.functions import Concat

INDEX = "triage_crash_subsystems_trgm"


def fill(apps, schema_editor):
    Crash = apps.get_model("triage", "Crash")
    Crash.objects.exclude(subsystem="").update(
        subsystems=Concat(Value("|"), F("subsystem"), Value("|"), output_field=models.TextField()))


def index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON triage_crash "
                              "USING gin ((UPPER(subsystems::text)) gin_trgm_ops)")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("triage", "0019_log_decode_sweeper"),
    ]

    operations = [
        migrations.AddField(
            model_name="crash",
            name="subsystems",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(index, drop_index),
    ]

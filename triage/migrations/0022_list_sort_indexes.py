"""(column, id) indexes for the crashes and logs lists' sortable columns: a page sorted by a column of a
few values (a kind, a tree, a status) is read in order from the index instead of sorting every row of
the value by id (triage.listing breaks ties by id)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('triage', '0021_cluster_counts'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='crash',
            index=models.Index(fields=['kind', 'id'], name='crash_kind_id'),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['status', 'id'], name='log_status_id'),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['tree', 'id'], name='log_tree_id'),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['commit', 'id'], name='log_commit_id'),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['config', 'id'], name='log_config_id'),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['arch', 'id'], name='log_arch_id'),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['test', 'id'], name='log_test_id'),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['crash_count', 'id'], name='log_crash_count_id'),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['filename', 'id'], name='log_filename_id'),
        ),
    ]

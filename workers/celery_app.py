"""The Celery application shared by the web process (to send tasks) and the workers."""

from __future__ import annotations

import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")

app = Celery("triage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"])

# kombu's filesystem transport (the embedded default) needs its folders to exist before use.
for folder in getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).values():
    if isinstance(folder, str) and folder.startswith("/"):
        os.makedirs(folder, exist_ok=True)


def route_task(name: str, args, kwargs, options, task=None, **kw) -> dict | None:
    """The queue of a task (settings.CELERY_TASK_QUEUES): index builds apart, periodic tasks apart,
    everything else on the default queue ("analysis")."""
    if name == "workers.tasks.index_build":
        return {"queue": "index"}
    if name in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}:
        return {"queue": "periodic"}
    return None

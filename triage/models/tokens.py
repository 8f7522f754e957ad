"""API tokens for CI bots."""

from __future__ import annotations

from django.conf import settings
from django.db import models


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

"""The kernel's MAINTAINERS files uploaded per tree."""

from __future__ import annotations

from django.db import models


class MaintainersFile(models.Model):
    """A kernel MAINTAINERS file uploaded by an admin for a tree ("" for every tree without its own)."""

    tree = models.CharField(max_length=200, blank=True, unique=True)
    text = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"MAINTAINERS of {self.tree or 'every tree'}"

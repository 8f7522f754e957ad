from django.contrib import admin

from triage.models import Build, BuildFile, Cluster, ClusterEvent, ClusterTitle, Crash, Log

for model in (Build, BuildFile, Cluster, ClusterEvent, ClusterTitle, Crash, Log):
    admin.site.register(model)


# Regressions and digests (issue 9). A team address (mailing list) is a Subscription with `email` set
# and no user, made here by an admin.
from triage.models import Digest, Regression, Subscription  # noqa: E402


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "email", "subsystem", "frequency", "clusters", "active", "last_sent")
    list_filter = ("frequency", "active")


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ("subject", "subscription", "status", "created", "sent", "attempts")
    list_filter = ("status",)


admin.site.register(Regression)


# MAINTAINERS per tree (issue 11): upload the kernel's file; crashes analysed or decoded afterwards
# get their subsystem from it.
from django import forms  # noqa: E402

from triage.models import MaintainersFile  # noqa: E402


class MaintainersFileForm(forms.ModelForm):
    upload = forms.FileField(required=False, help_text="the kernel's MAINTAINERS file (replaces the text)")

    class Meta:
        model = MaintainersFile
        fields = ["tree", "upload", "text"]

    def clean(self):
        data = super().clean()
        if data.get("upload"):
            data["text"] = data["upload"].read().decode("utf-8", "replace")
            self.errors.pop("text", None)
        return data


@admin.register(MaintainersFile)
class MaintainersFileAdmin(admin.ModelAdmin):
    form = MaintainersFileForm
    list_display = ("__str__", "updated")

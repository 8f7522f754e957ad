from django.contrib import admin

from triage.models import Build, BuildFile, Cluster, ClusterEvent, ClusterTitle, Crash, Log

for model in (Build, BuildFile, Cluster, ClusterEvent, ClusterTitle, Crash, Log):
    admin.site.register(model)


# Regressions and digests (issue 9). A team address (mailing list) is a Subscription with `email` set
# and no user, made here by an admin.
from triage.models import Digest, Regression, Subscription  # noqa: E402


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "email", "frequency", "clusters", "active", "last_sent")
    list_filter = ("frequency", "active")


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ("subject", "subscription", "status", "created", "sent", "attempts")
    list_filter = ("status",)


admin.site.register(Regression)

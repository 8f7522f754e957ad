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
# get their subsystem from it, and a task re-files the stored ones (triage.subsystem_refresh).
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


def _refile(request, admin_view, trees: set[str]) -> None:
    """Queue the re-filing of the trees' stored crashes (after commit: the task must read the new file)."""
    from triage.queueing import send_on_commit
    from workers.tasks import reassign_subsystems

    for tree in sorted(trees):
        send_on_commit(reassign_subsystems, tree)
    named = ", ".join(f"tree {t}" if t else "every tree without its own MAINTAINERS" for t in sorted(trees))
    admin_view.message_user(request, f"The stored crashes of {named} are being re-assigned their guilty file "
                                     "and subsystem in the background: list filters and digests follow in a few "
                                     "minutes.")


@admin.register(MaintainersFile)
class MaintainersFileAdmin(admin.ModelAdmin):
    form = MaintainersFileForm
    list_display = ("__str__", "updated")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        trees = {obj.tree}
        if change and "tree" in form.changed_data:  # its old tree falls back to another file now
            trees.add(form.initial.get("tree") or "")
        _refile(request, self, trees)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        _refile(request, self, {obj.tree})

    def delete_queryset(self, request, queryset):
        trees = set(queryset.values_list("tree", flat=True))
        super().delete_queryset(request, queryset)
        _refile(request, self, trees)

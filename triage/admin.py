from django.contrib import admin

from triage.models import Build, BuildFile, Cluster, ClusterEvent, ClusterTitle, Crash, Log

for model in (Build, BuildFile, Cluster, ClusterEvent, ClusterTitle, Crash, Log):
    admin.site.register(model)

"""What triage stores: kernel builds, uploaded logs (= runs), the crashes found in them, clusters.

Raw uploads are stored first and kept forever; everything else (crashes, stat keys, decoded traces,
cluster membership) is derived by Celery tasks and can be recomputed from the raw bytes.

One module per object (as patchwork does); everything is importable from `triage.models`.
"""

from triage.models.builds import Build, BuildFile
from triage.models.clusters import (
    Cluster,
    ClusterCounts,
    ClusterEvent,
    ClusterFacet,
    ClusterLink,
    ClusterTitle,
)
from triage.models.crashes import Crash, VanishedCrash
from triage.models.digests import Digest, DigestItem, Subscription
from triage.models.kcidb import KcidbImport
from triage.models.logs import Log, StatKey
from triage.models.maintainers import MaintainersFile
from triage.models.regressions import Job, Regression, SeriesCommit
from triage.models.tokens import ApiToken

__all__ = [
    "Build",
    "BuildFile",
    "Log",
    "StatKey",
    "Cluster",
    "ClusterTitle",
    "ClusterEvent",
    "ClusterLink",
    "ClusterCounts",
    "ClusterFacet",
    "Crash",
    "VanishedCrash",
    "SeriesCommit",
    "Job",
    "Regression",
    "Subscription",
    "Digest",
    "DigestItem",
    "ApiToken",
    "MaintainersFile",
    "KcidbImport",
]

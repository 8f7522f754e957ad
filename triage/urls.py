from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from triage.accounts import login_form
from triage.api import builds as builds_api
from triage.api import cluster_status as cluster_status_api
from triage.api import clusters as clusters_api
from triage.api import compare as compare_api
from triage.api import crashes as crashes_api
from triage.api import kcidb as kcidb_api
from triage.api import logs as logs_api
from triage.api import regressions as regressions_api
from triage.views import (
    builds,
    cluster_status,
    clusters,
    compare,
    crashes,
    home,
    logs,
    regressions,
    search,
    subscriptions,
    tokens,
)

router = DefaultRouter()
router.register("logs", logs_api.LogViewSet)
router.register("crashes", crashes_api.CrashViewSet)
router.register("clusters", clusters_api.ClusterViewSet)
router.register("builds", builds_api.BuildViewSet)
router.register("regressions", regressions_api.RegressionViewSet)

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    path("logs/", logs.log_list, name="logs"),
    path("logs/upload/", logs.log_upload, name="log-upload"),
    path("logs/<int:pk>/", logs.log_detail, name="log"),
    path("logs/<int:pk>/raw", logs.log_raw, name="log-raw"),
    path("logs/<int:pk>/requeue", logs.log_requeue, name="log-requeue"),
    path("crashes/", crashes.crash_list, name="crashes"),
    path("crashes/<int:pk>/", crashes.crash_detail, name="crash"),
    path("clusters/", clusters.cluster_list, name="clusters"),
    path("clusters/<int:pk>/", clusters.cluster_detail, name="cluster"),
    path("clusters/<int:pk>/merge", clusters.cluster_merge, name="cluster-merge"),
    path("clusters/<int:pk>/split", clusters.cluster_split, name="cluster-split"),
    path("clusters/<int:pk>/rename", clusters.cluster_rename, name="cluster-rename"),
    path("compare/", compare.compare, name="compare"),
    path("clusters/<int:pk>/status", cluster_status.cluster_status_edit, name="cluster-status"),
    path("clusters/<int:pk>/links", cluster_status.cluster_link_add, name="cluster-link-add"),
    path("clusters/<int:pk>/links/<int:link>/remove", cluster_status.cluster_link_remove, name="cluster-link-remove"),
    path("clusters/<int:pk>/notes", cluster_status.cluster_note_add, name="cluster-note-add"),
    path("api/clusters/<int:pk>/status/", cluster_status_api.ClusterStatusView.as_view(), name="api-cluster-status"),
    path("api/clusters/<int:pk>/links/", cluster_status_api.ClusterLinksView.as_view(), name="api-cluster-links"),
    path("api/clusters/<int:pk>/notes/", cluster_status_api.ClusterNotesView.as_view(), name="api-cluster-notes"),
    path("subscriptions/", subscriptions.subscriptions, name="subscriptions"),
    path("subscriptions/<int:pk>/delete", subscriptions.subscription_delete, name="subscription-delete"),
    path("subscriptions/<int:pk>/toggle", subscriptions.subscription_toggle, name="subscription-toggle"),
    path("unsubscribe/<str:token>/", subscriptions.unsubscribe, name="unsubscribe"),
    path("regressions/", regressions.regression_list, name="regressions"),
    path("regressions/<int:pk>/", regressions.regression_detail, name="regression"),
    path("search/", search.search_page, name="search"),
    path("favicon.ico", home.favicon, name="favicon"),
    path("builds/", builds.build_list, name="builds"),
    path("builds/upload/", builds.build_upload, name="build-upload"),
    path("builds/<int:pk>/", builds.build_detail, name="build"),
    path("builds/<int:pk>/reindex", builds.build_reindex, name="build-reindex"),
    path("api/compare/", compare_api.CompareView.as_view(), name="api-compare"),
    path("api/kcidb/", kcidb_api.KcidbView.as_view(), name="api-kcidb"),
    path("api/kcidb/imports/<int:pk>/", kcidb_api.KcidbImportView.as_view(), name="api-kcidb-import"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(router.urls)),
    path("settings/tokens/", tokens.token_list, name="tokens"),
    path("settings/tokens/<int:pk>/revoke", tokens.token_revoke, name="token-revoke"),
    path("login/", auth_views.LoginView.as_view(authentication_form=login_form()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

handler404 = "triage.api.errors.not_found"  # JSON under /api/
handler500 = "triage.api.errors.server_error"

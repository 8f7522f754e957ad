from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from triage import api, views

router = DefaultRouter()
router.register("logs", api.LogViewSet)
router.register("crashes", api.CrashViewSet)
router.register("clusters", api.ClusterViewSet)
router.register("builds", api.BuildViewSet)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("logs/", views.log_list, name="logs"),
    path("logs/upload/", views.log_upload, name="log-upload"),
    path("logs/<int:pk>/", views.log_detail, name="log"),
    path("logs/<int:pk>/raw", views.log_raw, name="log-raw"),
    path("logs/<int:pk>/requeue", views.log_requeue, name="log-requeue"),
    path("crashes/", views.crash_list, name="crashes"),
    path("crashes/<int:pk>/", views.crash_detail, name="crash"),
    path("clusters/", views.cluster_list, name="clusters"),
    path("clusters/<int:pk>/", views.cluster_detail, name="cluster"),
    path("builds/", views.build_list, name="builds"),
    path("builds/upload/", views.build_upload, name="build-upload"),
    path("builds/<int:pk>/", views.build_detail, name="build"),
    path("api/", include(router.urls)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

"""A URL that fails, for the 500 page test."""

from django.urls import path


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom)]

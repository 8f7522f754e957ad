"""With DEBUG off, missing pages and server errors get the app's styled pages, not Django's."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.triage.factories import make_triager

pytestmark = pytest.mark.django_db


def test_404_is_styled_and_says_what_was_missing(settings):
    settings.DEBUG = False
    client = Client()
    client.force_login(make_triager())
    response = client.get("/clusters/999999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>Not found</h1>" in page and 'name="viewport"' in page and "/clusters/999999/" in page


def test_500_is_styled(settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(make_triager())
    settings.ROOT_URLCONF = "tests.triage.broken_urls"
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()

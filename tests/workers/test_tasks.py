"""The task layer's own rules (the tasks themselves run in tests/triage with real rows)."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from workers.tasks import save_with_retries


def test_a_deadlock_victim_is_saved_again():
    calls = []

    def save():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected\nDETAIL: Process 1 waits for ShareLock")
        return "saved"

    assert save_with_retries(save) == "saved" and len(calls) == 2


def test_other_database_errors_are_not_retried():
    calls = []

    def save():
        calls.append(1)
        raise OperationalError("could not connect to server")

    with pytest.raises(OperationalError):
        save_with_retries(save)
    assert len(calls) == 1


def test_a_deadlock_every_time_gives_up_after_three_tries():
    calls = []

    def save():
        calls.append(1)
        raise OperationalError("deadlock detected")

    with pytest.raises(OperationalError):
        save_with_retries(save)
    assert len(calls) == 3

"""schemathesis against the live app: generated requests for every operation of /api/schema/, bounded
in examples; no answer may be a 5xx or break the schema (status codes, content types, bodies).

The operations are driven from one test (schemathesis' lazy pytest loader does not run on pytest 9):
each gets its own Hypothesis run, and every failing operation is reported, not just the first.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.triage.factories import make_report, make_run, make_token, make_triager  # noqa: E402

EXAMPLES = 12  # per operation: about 40 operations, a minute or two in all
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The KCIDB import fetches every log_url it is given: generated URLs must never leave this machine.
NOT_FUZZED = {("POST", "/api/kcidb/")}


@pytest.mark.slow
def test_no_5xx_and_no_schema_violation_on_any_operation(live_server, transactional_db):
    make_triager("fuzzer")
    make_run("c1", reports=[make_report("WARNING in foo", ["foo"])])
    headers = {"Authorization": f"Token {make_token('fuzzer')}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json", headers=headers)
    failures, ran = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in NOT_FUZZED:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            case.call_and_validate(base_url=live_server.url, headers=headers, checks=CHECKS)

        ran += 1
        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert ran >= 20
    assert not failures, "\n\n".join(failures)

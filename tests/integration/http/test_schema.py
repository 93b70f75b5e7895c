"""schemathesis against a real node on anvil: requests generated from `/openapi.json`, valid
and not, to every route; each reply must match the document (status, content type,
schema) and none may be a server error. Bounded: a few examples per route.

The operations are driven from the test itself (``operation.as_strategy()`` under
hypothesis) rather than by ``schemathesis.pytest.from_fixture``: that loader sets
``Function._nodeid``, which pytest 9 no longer has."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.openapi import from_url
from tests.integration.http.conftest import Served

EXAMPLES = 8


def test_every_route_answers_as_documented_and_never_fails(served: Served) -> None:
    schema = from_url(f"{served.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Case) -> None:
            case.call_and_validate(timeout=10)

        check()

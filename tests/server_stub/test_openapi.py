"""The API against its own OpenAPI document, fuzzed by schemathesis: no 5xx, answers match.

Both kinds of token are used: the admin token on the online side, a device token elsewhere,
so the generated requests get past authentication and reach the real handlers.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from server_stub.app import create_app
from server_stub.clock import ManualClock
from tests.server_stub.conftest import ADMIN, ANNA

app = create_app(clock=ManualClock(), admin_token=ADMIN)
app.state.server.start()  # the schemathesis ASGI client does not run the lifespan
schema = schemathesis.openapi.from_asgi("/openapi.json", app)

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_matches_its_openapi_and_never_fails_on_the_server(case: schemathesis.Case) -> None:
    if case.path.endswith("/admin/reset"):
        return  # reseeding on every example only slows the run; tested in test_sync
    token = ADMIN if "/admin/" in case.path else ANNA
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

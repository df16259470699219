"""On PostgreSQL, values SQLite takes in its stride but PostgreSQL cannot bind (a NUL in an id, in a query
parameter or in a cursor) are answered as what they are, never with a 500."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from cercle_shared.contracts import registration as reg
from tests.support.services import auth, running_service

from .helpers import apply_directly, session_body

pytestmark = pytest.mark.integration

OPERATOR = auth()


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_a_nul_anywhere_in_a_request_is_never_a_500_on_postgresql(kafka, pg_url):
    with running_service("sessions", pg_url, kafka.bootstrap) as api:
        apply_directly(
            api.app_state,
            reg.CommunityCreated(
                community_id="c-nul",
                name_fr="CoP",
                name_en="CoP",
                kind="community_of_practice",
                regions=["06"],
                cadence=6,
                status="active",
                created_at=datetime.now(UTC),
            ),
        )
        session = api.post("/v1/communities/c-nul/sessions", json=session_body(), headers=OPERATOR).json()
        requests = [
            ("GET", "/v1/sessions/a%00b"),
            ("GET", "/v1/communities/a%00b/sessions"),
            ("GET", "/v1/communities/a%00b/cycles"),
            ("GET", "/v1/cycles/a%00b"),
            ("GET", "/v1/cycles/a%00b/themes"),
            ("GET", "/v1/sessions/a%00b/registrations"),
            ("GET", "/v1/sessions/a%00b/roster"),
            ("GET", "/v1/sessions/a%00b/summary"),
            ("GET", "/v1/resources?tag=a%00b&community_id=a%00b&session_id=a%00b&q=a%00b"),
            ("GET", "/v1/calendars/a%00b.ics"),
            ("DELETE", "/v1/calendars/a%00b"),
            ("POST", f"/v1/sessions/{session['id']}/registrations/a%00b/check-in"),
            ("DELETE", f"/v1/sessions/{session['id']}/registrations/a%00b"),
            ("GET", f"/v1/sessions/{session['id']}/registrations?cursor=" + _b64('[1, "a\\u0000"]')),
            (
                "GET",
                "/v1/communities/c-nul/sessions?cursor=" + _b64('[{"dt": "2026-01-01T00:00:00+00:00"}, "a\\u0000"]'),
            ),
        ]
        for method, path in requests:
            response = api.request(method, path, headers=OPERATOR)
            assert response.status_code in (404, 422), (method, path, response.status_code, response.text)
        body = {"member_id": "a\u0000b"}
        assert api.post(f"/v1/sessions/{session['id']}/registrations", json=body, headers=OPERATOR).status_code == 422

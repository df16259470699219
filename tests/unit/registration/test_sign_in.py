"""Sign-in without passwords, in process: links, one-time codes, tokens, rotation, limits, erasure."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from cercle_shared.auth import decode_token
from cercle_shared.contracts import topics
from cercle_shared.principal import Role
from tests.support.harness import harness
from tests.support.services import JWT_SECRET

from .conftest import OPERATOR, member_body

LINKS = "/v1/auth/links"
LINK_TYPE = "org.cercle.registration.member.sign_in_link_requested.v1"


def ask(api, email="marie@example.org"):
    return api.post(LINKS, json={"email": email})


def codes(h) -> list[str]:
    return [row["data"]["code"] for row in h.published("member.sign_in_link_requested")]


def sign_in(api, h, email="marie@example.org") -> dict:
    assert ask(api, email).status_code == 202
    response = api.post("/v1/auth/token", json={"code": codes(h)[-1]})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_a_link_is_asked_with_the_same_answer_whether_the_email_is_a_members_or_not(api, h, register):
    register("marie@example.org")
    known = ask(api, "Marie@Example.org")
    unknown = ask(api, "nobody@example.org")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert known.json()["expires_in"] == 900
    assert len(h.published("member.sign_in_link_requested")) == 1


def test_the_link_event_carries_a_long_random_code_stored_only_as_a_digest(api, h, register, db):
    member = register("marie@example.org", language="en")
    ask(api)
    [event] = h.published("member.sign_in_link_requested")
    assert event["type"] == LINK_TYPE
    assert event["topic"] == topics.SIGN_IN_LINKS.name == "cercle.registration.sign-in-links"
    assert topics.SIGN_IN_LINKS.visibility is topics.Visibility.INTERNAL
    data = event["data"]
    assert data["member_id"] == member["id"]
    assert data["language"] == "en"
    code = data["code"]
    assert len(code) >= 43  # 32 random bytes, URL-safe base64
    assert parse_qs(urlsplit(data["link"]).query)["code"] == [code]
    assert data["link"] == f"http://127.0.0.1:8001/v1/auth/callback?code={code}"  # registration's own page by default
    assert data["expires_at"].startswith("2026-09-01T12:15:00")
    [row] = db.rows("select code_hash from sign_in_codes")
    assert row.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert db.count("sign_in_codes", "code_hash = :c", c=code) == 0
    # the throttle rows name the address by a keyed digest: a list of addresses cannot be matched against them
    plain = {hashlib.sha256(f"{k}:marie@example.org".encode()).hexdigest() for k in ("link-email", "")}
    keys = {row.key_hash for row in db.rows("select key_hash from sign_in_attempts")}
    assert len(keys) == 2
    assert not keys & plain


def test_the_link_starts_with_the_configured_sign_in_url(tmp_path, tmp_path_factory):
    for h in harness(
        "registration", tmp_path, tmp_path_factory.getbasetemp(), sign_in_url="https://cercle.example/connexion?code="
    ):
        assert h.api.post("/v1/members", json=member_body(), headers=OPERATOR).status_code == 201
        ask(h.api)
        [code] = codes(h)
        assert h.published("member.sign_in_link_requested")[0]["data"]["link"] == (
            f"https://cercle.example/connexion?code={code}"
        )


def test_no_link_for_a_member_without_consent_to_processing(api, h, register, db):
    member = register("marie@example.org")
    with db.engine.begin() as c:  # not possible through the API (erase instead); kept defensive for old rows
        from sqlalchemy import text

        c.execute(
            text("update members set consents = :c where id = :id"), {"c": '{"processing": false}', "id": member["id"]}
        )
    assert ask(api).status_code == 202
    assert h.published("member.sign_in_link_requested") == []


def test_the_code_signs_the_member_in_once(api, h, register):
    member = register("marie@example.org")
    tokens = sign_in(api, h)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    principal = decode_token(JWT_SECRET, tokens["access_token"])
    assert principal.role is Role.MEMBER
    assert principal.member_id == member["id"]
    assert api.get("/v1/members/me", headers=bearer(tokens)).json()["id"] == member["id"]
    again = api.post("/v1/auth/token", json={"code": codes(h)[-1]})
    assert again.status_code == 400
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["errors"] == [{"field": "code", "message": again.json()["detail"]}]


def test_a_code_expires_after_15_minutes(api, h, register):
    register()
    ask(api)
    h.advance(minutes=15)
    assert api.post("/v1/auth/token", json={"code": codes(h)[-1]}).status_code == 400


def test_an_unknown_code_is_refused_naming_the_field(api, h):
    response = api.post("/v1/auth/token", json={"code": "A" * 43})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "code"


def test_opening_the_link_shows_a_page_and_spends_nothing(api, h, register):
    register()
    ask(api)
    code = codes(h)[-1]
    page = api.get(
        urlsplit(h.published("member.sign_in_link_requested")[0]["data"]["link"]).path, params={"code": code}
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert code in page.text
    assert page.headers["cache-control"] == "no-store"
    assert api.post("/v1/auth/token", json={"code": code}).status_code == 200


def test_refresh_rotates_and_a_spent_token_presented_again_revokes_the_whole_sign_in(api, h, register):
    register()
    first = sign_in(api, h)
    second = api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert decode_token(JWT_SECRET, second.json()["access_token"]).role is Role.MEMBER
    reused = api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 400
    assert reused.json()["errors"][0]["field"] == "refresh_token"
    # the thief replayed the old one: the member's current token is revoked too
    assert api.post("/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}).status_code == 400


def test_another_sign_in_is_not_revoked_with_a_reused_family(api, h, register):
    register()
    phone, laptop = sign_in(api, h), sign_in(api, h)
    api.post("/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    api.post("/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert api.post("/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]}).status_code == 200


def test_logout_revokes_the_sign_in(api, h, register):
    register()
    tokens = sign_in(api, h)
    assert api.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert api.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 400
    assert api.post("/v1/auth/logout", json={"refresh_token": "B" * 43}).status_code == 204  # unknown: nothing


def test_a_sign_in_lasts_30_days_and_refreshing_does_not_extend_it(api, h, register):
    register()
    token = sign_in(api, h)["refresh_token"]
    for _ in range(3):
        h.advance(days=9)
        response = api.post("/v1/auth/refresh", json={"refresh_token": token})
        assert response.status_code == 200
        token = response.json()["refresh_token"]
    h.advance(days=3)
    assert api.post("/v1/auth/refresh", json={"refresh_token": token}).status_code == 400


def test_coordinators_and_facilitators_get_their_role_and_scopes_from_their_memberships(api, h, register, found):
    marie = register("marie@example.org")
    laval = found(regions=["13"])
    montreal = found(regions=["06"])
    quebec_wide = found(regions=[], province_wide=True)
    api.post(f"/v1/communities/{laval['id']}/memberships", json={"member_id": marie["id"]}, headers=OPERATOR)
    tokens = sign_in(api, h)
    assert decode_token(JWT_SECRET, tokens["access_token"]).role is Role.MEMBER  # a participant manages nothing

    join = {"member_id": marie["id"], "role": "facilitator"}
    assert api.post(f"/v1/communities/{montreal['id']}/memberships", json=join, headers=OPERATOR).status_code == 201
    refreshed = api.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
    facilitator = decode_token(JWT_SECRET, refreshed["access_token"])
    assert facilitator.role is Role.FACILITATOR
    assert facilitator.communities == {montreal["id"]}
    assert facilitator.member_id == marie["id"]

    role = {"role": "coordinator", "version": 1}
    assert api.patch(f"/v1/communities/{laval['id']}/memberships/{marie['id']}", json=role, headers=OPERATOR).is_success
    join = {"member_id": marie["id"], "role": "coordinator"}
    assert api.post(f"/v1/communities/{quebec_wide['id']}/memberships", json=join, headers=OPERATOR).is_success
    refreshed = api.post("/v1/auth/refresh", json={"refresh_token": refreshed["refresh_token"]}).json()
    coordinator = decode_token(JWT_SECRET, refreshed["access_token"])
    assert coordinator.role is Role.COORDINATOR
    assert coordinator.regions == {"13"}
    assert coordinator.communities == {laval["id"], montreal["id"], quebec_wide["id"]}
    # the token works where it should: her Laval region, and the Montréal community she facilitates
    assert api.get(f"/v1/communities/{montreal['id']}/memberships", headers=bearer(refreshed)).status_code == 200
    assert api.get(f"/v1/communities/{laval['id']}/memberships", headers=bearer(refreshed)).status_code == 200
    assert api.get("/v1/members", params={"region": "13"}, headers=bearer(refreshed)).status_code == 200
    assert api.get("/v1/members", params={"region": "06"}, headers=bearer(refreshed)).status_code == 403


def test_links_are_limited_per_email_with_a_retry_after(api, h, register):
    register()
    for _ in range(5):
        assert ask(api).status_code == 202
    h.advance(minutes=5)
    refused = ask(api, "MARIE@example.org")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) == 600
    assert refused.json()["errors"][0]["field"] == "email"
    assert len(codes(h)) == 5
    assert ask(api, "other@example.org").status_code == 202  # another address is its own count
    h.advance(minutes=10)
    assert ask(api).status_code == 202


def test_unknown_emails_count_against_the_limit_as_known_ones_do(api, h):
    answers = [ask(api, "nobody@example.org").status_code for _ in range(6)]
    assert answers == [202] * 5 + [429]


@pytest.fixture
def strict(tmp_path, tmp_path_factory):
    yield from harness(
        "registration",
        tmp_path,
        tmp_path_factory.getbasetemp(),
        sign_in_links_per_address=3,
        sign_in_tokens_per_address=4,
    )


def test_links_are_limited_per_client_address(strict):
    answers = [strict.api.post(LINKS, json={"email": f"m{i}@example.org"}).status_code for i in range(4)]
    assert answers == [202, 202, 202, 429]


def test_token_endpoints_are_limited_per_client_address_failed_attempts_included(strict):
    guesses = [strict.api.post("/v1/auth/token", json={"code": "C" * 43}).status_code for _ in range(4)]
    assert guesses == [400] * 4
    refused = strict.api.post("/v1/auth/refresh", json={"refresh_token": "D" * 43})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) == 900
    strict.advance(minutes=15)
    assert strict.api.post("/v1/auth/token", json={"code": "C" * 43}).status_code == 400


def test_erasure_revokes_every_token_and_pending_code(api, h, register, db):
    member = register()
    tokens = sign_in(api, h)
    ask(api)
    pending = codes(h)[-1]
    assert api.delete(f"/v1/members/{member['id']}", headers=bearer(tokens)).status_code == 204
    assert api.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 400
    assert api.post("/v1/auth/token", json={"code": pending}).status_code == 400
    assert db.count("sign_in_codes") == db.count("refresh_tokens") == 0


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (LINKS, {}, "email"),
        (LINKS, {"email": "not an address"}, "email"),
        (LINKS, {"email": "Marie <marie@example.org>"}, "email"),
        (LINKS, {"email": "marie@example.org", "admin": True}, "admin"),
        (LINKS, {"email": ["marie@example.org"]}, "email"),
        ("/v1/auth/token", {"code": "short"}, "code"),
        ("/v1/auth/token", {"code": "x" * 43 + "!"}, "code"),
        ("/v1/auth/token", {"code": 12345678901234567890}, "code"),
        ("/v1/auth/refresh", {"refresh_token": "a b" * 10}, "refresh_token"),
        ("/v1/auth/logout", {}, "refresh_token"),
        ("/v1/auth/oidc", {"id_token": "not-a-jwt"}, "id_token"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(api, db, path, body, field):
    response = api.post(path, json=body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert db.count("sign_in_attempts") == db.count("outbox") == 0


def test_a_body_that_is_not_json_is_a_422(api):
    response = api.post(LINKS, content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_oidc_sign_in_is_off_unless_an_issuer_is_configured(api):
    response = api.post("/v1/auth/oidc", json={"id_token": "a.b.c"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_purge_job_forgets_old_attempts_and_long_expired_codes_and_tokens(api, h, register, db):
    register()
    sign_in(api, h)
    ask(api)
    h.advance(days=32)
    h.run_job("purge-sign-in")
    assert db.count("sign_in_attempts") == db.count("sign_in_codes") == db.count("refresh_tokens") == 0

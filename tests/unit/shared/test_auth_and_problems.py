from datetime import timedelta

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from cercle_shared.auth import CurrentPrincipal, TokenError, decode_token, issue_token, require_roles
from cercle_shared.errors import Conflict
from cercle_shared.principal import Principal, Role
from cercle_shared.web import StrictModel, install_problem_handlers

SECRET = "unit-secret-0123456789abcdef0123456789abcdef"


def test_a_token_round_trips_its_scope():
    token = issue_token(SECRET, "coordinator", regions=["06", "03"])
    principal = decode_token(SECRET, token)
    assert principal.role is Role.COORDINATOR
    assert principal.regions == {"03", "06"}


@pytest.mark.parametrize(
    "token",
    [
        issue_token("another-secret-0123456789abcdef0123456789", "operator"),
        issue_token(SECRET, "operator", ttl=timedelta(seconds=-5)),
        "not-a-jwt",
    ],
    ids=["wrong secret", "expired", "garbage"],
)
def test_a_bad_token_is_refused(token):
    with pytest.raises(TokenError):
        decode_token(SECRET, token)


def test_a_member_token_needs_a_member_id():
    import jwt

    token = jwt.encode({"sub": "x", "role": "member", "iss": "cercle", "aud": "cercle", "exp": 4102444800}, SECRET)
    with pytest.raises(TokenError, match="member_id"):
        decode_token(SECRET, token)


def test_scopes_by_role():
    operator = Principal("o", Role.OPERATOR)
    coordinator = Principal("c", Role.COORDINATOR, regions=frozenset({"06"}))
    facilitator = Principal("f", Role.FACILITATOR, communities=frozenset({"c-1"}))
    member = Principal("m", Role.MEMBER, member_id="m-1")
    assert operator.covers_region("03")
    assert operator.covers_community("c-9", ["03"])
    assert coordinator.covers_region("06")
    assert not coordinator.covers_region("03")
    assert coordinator.covers_community("c-9", ["06", "13"])
    assert not coordinator.covers_community("c-9", ["03"])
    assert facilitator.covers_community("c-1")
    assert not facilitator.covers_community("c-2")
    assert not facilitator.covers_region("06")
    assert member.is_member("m-1")
    assert not member.is_member("m-2")
    assert not member.covers_community("c-1")


class _Body(StrictModel):
    name: str
    size: int


def _app() -> TestClient:
    app = FastAPI()
    app.state.jwt_secret = SECRET
    install_problem_handlers(app)
    router = APIRouter()

    @router.post("/things", dependencies=[require_roles(Role.OPERATOR, Role.COORDINATOR)])
    def create(body: _Body, principal: CurrentPrincipal):
        if body.name == "taken":
            raise Conflict("name taken", field="name")
        return {"by": principal.role.value}

    @router.get("/boom")
    def boom(principal: CurrentPrincipal):
        raise RuntimeError("bug")

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def _h(role="operator", **kw):
    return {"Authorization": f"Bearer {issue_token(SECRET, role, **kw)}"}


def test_no_token_is_401_problem_with_a_bearer_challenge():
    response = _app().post("/things", json={"name": "a", "size": 1})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status"] == 401


def test_a_role_outside_the_scope_is_403():
    response = _app().post("/things", json={"name": "a", "size": 1}, headers=_h("member", member_id="m"))
    assert response.status_code == 403
    assert response.json()["title"] == "Forbidden"


def test_bad_input_is_a_422_problem_naming_each_field_and_unknown_fields_are_refused():
    response = _app().post("/things", json={"name": "a", "size": "big", "colour": "red"}, headers=_h())
    assert response.status_code == 422
    body = response.json()
    assert {e["field"] for e in body["errors"]} == {"size", "colour"}
    assert any(e["message"] == "unknown field" for e in body["errors"])


def test_malformed_json_is_a_4xx_problem_not_a_500():
    response = _app().post("/things", content=b"{nope", headers={**_h(), "content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "body"


def test_a_domain_conflict_is_a_409_problem_naming_the_field():
    response = _app().post("/things", json={"name": "taken", "size": 1}, headers=_h())
    assert response.status_code == 409
    assert response.json()["errors"] == [{"field": "name", "message": "name taken"}]


def test_an_unexpected_error_is_a_500_problem_without_internals():
    response = _app().get("/boom", headers=_h())
    assert response.status_code == 500
    assert "bug" not in response.text


def test_a_service_refuses_a_short_or_missing_jwt_secret(monkeypatch):
    from pydantic import ValidationError

    from cercle_shared.settings import ServiceSettings

    monkeypatch.delenv("CERCLE_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="jwt_secret"):
        ServiceSettings(database_url="sqlite://", http_port=1)
    with pytest.raises(ValidationError, match="jwt_secret"):
        ServiceSettings(database_url="sqlite://", http_port=1, jwt_secret="too-short")


def _signed(**claims) -> str:
    """A token signed with the right secret (so only its claims can be wrong)."""
    import jwt

    base = {"sub": "s-1", "role": "operator", "iss": "cercle", "aud": "cercle", "exp": 4102444800}
    return jwt.encode({**base, **claims}, SECRET)


def _signed_raw(payload: bytes) -> str:
    """A correctly signed token whose payload is any JSON text (such as `Infinity`, which PyJWT will not write)."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(payload)
    signature = b64(hmac.new(SECRET.encode(), signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


ILL_TYPED = {
    "regions a number": _signed(role="coordinator", regions=6),
    "regions a string": _signed(role="coordinator", regions="06"),
    "regions holding an object": _signed(role="coordinator", regions=[{"a": 1}]),
    "communities an object": _signed(role="facilitator", communities={"c-1": True}),
    "member_id an object": _signed(role="member", member_id={"id": "m-1"}),
    "member_id a list": _signed(role="member", member_id=["m-1"]),
    "member_id a number": _signed(role="member", member_id=5),
    "organization_id a list": _signed(role="partner", organization_id=["o-1"]),
    "role unknown": _signed(role="root"),
    "role a list": _signed(role=["operator"]),
    "role missing": _signed(role=None),
    "sub multi-line": _signed(sub="a\r\nb"),
    "sub too long": _signed(sub="x" * 5000),
    "exp a string": _signed(exp="4102444800"),
    "exp beyond year 9999": _signed(exp=10**30),
    "exp infinite": _signed_raw(b'{"sub":"s","role":"operator","iss":"cercle","aud":"cercle","exp":Infinity}'),
    "iat a string": _signed(iat="yesterday"),
    "claims a list": _signed_raw(b'["sub","role"]'),
}


@pytest.mark.parametrize("token", ILL_TYPED.values(), ids=ILL_TYPED.keys())
def test_a_correctly_signed_token_with_ill_typed_claims_is_refused(token):
    with pytest.raises(TokenError):
        decode_token(SECRET, token)


@pytest.mark.parametrize("token", ILL_TYPED.values(), ids=ILL_TYPED.keys())
def test_a_correctly_signed_token_with_ill_typed_claims_answers_401_not_500(token):
    response = _app().post("/things", json={"name": "a", "size": 1}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


def test_well_typed_optional_claims_are_still_accepted():
    principal = decode_token(SECRET, _signed(role="coordinator", regions=None, exp=4102444800.5))
    assert principal.regions == frozenset()
    principal = decode_token(SECRET, _signed(role="member", member_id="m-1", communities=["c-1"]))
    assert (principal.member_id, principal.communities) == ("m-1", frozenset({"c-1"}))

"""Sign-in with an OpenID Connect issuer: a discovery document and a JWKS served by the test on loopback, keys made
with `cryptography`; registration on PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cercle_shared.auth import decode_token
from cercle_shared.db.migrations import upgrade
from cercle_shared.principal import Role
from tests.support.harness import ServiceHarness
from tests.support.services import JWT_SECRET, SERVICES, auth

pytestmark = pytest.mark.integration

AUDIENCE = "cercle-web"
OPERATOR = auth("operator")


class Issuer:
    """An identity provider's published half: discovery document and JWKS, on 127.0.0.1."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.keys = {"rsa-1": (self.rsa, "RS256"), "ec-1": (self.ec, "ES256")}
        self.hits: list[str] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.hits.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                elif self.path == "/jwks":
                    body = {"keys": [issuer.jwk(kid) for kid in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def jwk(self, kid: str) -> dict:
        key, alg = self.keys[kid]
        algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
        jwk = json.loads(algorithm.to_jwk(key.public_key()))
        return {**jwk, "kid": kid, "alg": alg, "use": "sig"}

    def token(self, kid: str = "rsa-1", *, key=None, alg: str | None = None, **claims) -> str:
        signing_key, default_alg = self.keys.get(kid, (None, "RS256"))
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 300,
            "email": "marie@example.org",
            "email_verified": True,
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or signing_key, algorithm=alg or default_alg, headers={"kid": kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    idp = Issuer()
    yield idp
    idp.close()


@pytest.fixture
def h(request, new_database, issuer) -> Iterator[ServiceHarness]:
    """Registration with the issuer configured (and any further settings the test passes as its parameter)."""
    url = new_database("registration")
    upgrade(SERVICES["registration"].bootstrap().MIGRATIONS, url)
    settings = {"oidc_issuer": issuer.url, "oidc_audience": AUDIENCE, **getattr(request, "param", {})}
    harness = ServiceHarness("registration", url, settings_overrides=settings)
    body = {
        "display_name": "Marie Tremblay",
        "email": "Marie@Example.org",
        "region": "06",
        "consents": {"processing": True},
    }
    response = harness.api.post("/v1/members", json=body, headers=OPERATOR)
    assert response.status_code == 201, response.text
    harness.member_id = response.json()["id"]  # type: ignore[attr-defined]
    yield harness
    harness.runtime.engine.dispose()


def exchange(h: ServiceHarness, id_token: str):
    return h.api.post("/v1/auth/oidc", json={"id_token": id_token})


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
def test_an_id_token_of_the_issuer_for_our_audience_signs_the_member_in(h, issuer, kid):
    response = exchange(h, issuer.token(kid))
    assert response.status_code == 200, response.text
    tokens = response.json()
    principal = decode_token(JWT_SECRET, tokens["access_token"])
    assert principal.role is Role.MEMBER
    assert principal.member_id == h.member_id  # type: ignore[attr-defined]
    refreshed = h.api.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200


def test_an_audience_list_that_names_us_is_accepted(h, issuer):
    assert exchange(h, issuer.token(aud=["another-app", AUDIENCE])).status_code == 200


def test_the_keys_are_fetched_once_and_cached(h, issuer):
    for _ in range(3):
        assert exchange(h, issuer.token()).status_code == 200
    assert issuer.hits.count("/.well-known/openid-configuration") == 1
    assert issuer.hits.count("/jwks") == 1


@pytest.mark.parametrize("h", [{"oidc_jwks_cooldown": 0}], indirect=True)  # the 30 s default is not waited here
def test_a_rotated_key_is_fetched_when_a_token_names_it(h, issuer):
    assert exchange(h, issuer.token()).status_code == 200
    issuer.keys["rsa-2"] = (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")
    assert exchange(h, issuer.token("rsa-2")).status_code == 200
    assert issuer.hits.count("/jwks") == 2


def test_made_up_key_ids_do_not_make_cercle_fetch_the_keys_again_and_again(h, issuer):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(5):
        assert exchange(h, issuer.token(f"made-up-{n}", key=stranger, alg="RS256")).status_code == 400
    assert issuer.hits.count("/jwks") == 1


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        ("another audience", {"aud": "someone-else"}),
        ("no audience", {"aud": None}),
        ("another issuer", {"iss": "https://idp.example.org"}),
        ("expired", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        ("email not verified", {"email_verified": False}),
        ("email verification not said", {"email_verified": None}),
        ("email verified as a string", {"email_verified": "true"}),
        ("no email", {"email": None}),
        ("not a member's email", {"email": "nobody@example.org"}),
        ("not an email", {"email": "Marie <marie@example.org>"}),
    ],
)
def test_an_id_token_is_refused_with_a_400_naming_the_field(h, issuer, case, claims):
    response = exchange(h, issuer.token(**claims))
    assert response.status_code == 400, f"{case}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "id_token"


def test_a_token_signed_by_an_unknown_key_is_refused(h, issuer):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert exchange(h, issuer.token("nobody-knows", key=stranger, alg="RS256")).status_code == 400
    assert exchange(h, issuer.token("rsa-1", key=stranger)).status_code == 400  # a known kid, the wrong key


def test_a_token_signed_with_the_shared_secret_or_unsigned_is_refused(h, issuer):
    hs = jwt.encode({"iss": issuer.url, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60,
                     "iat": int(time.time()), "email": "marie@example.org", "email_verified": True},
                    JWT_SECRET, algorithm="HS256", headers={"kid": "rsa-1"})  # fmt: skip
    assert exchange(h, hs).status_code == 400
    unsigned = jwt.encode({"iss": issuer.url, "aud": AUDIENCE}, None, algorithm="none", headers={"kid": "rsa-1"})
    assert exchange(h, unsigned).status_code == 400


def test_an_unreachable_issuer_is_a_400_not_a_500(new_database):
    url = new_database("registration")
    upgrade(SERVICES["registration"].bootstrap().MIGRATIONS, url)
    gone = ServiceHarness(
        "registration", url, settings_overrides={"oidc_issuer": "http://127.0.0.1:9", "oidc_audience": AUDIENCE}
    )
    try:
        response = gone.api.post("/v1/auth/oidc", json={"id_token": "a.b.c"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "id_token"
    finally:
        gone.runtime.engine.dispose()


def test_an_issuer_without_an_audience_is_refused_at_start():
    with pytest.raises(ValueError, match="CERCLE_OIDC_AUDIENCE"):
        SERVICES["registration"].settings_cls()(
            database_url="sqlite://", jwt_secret=JWT_SECRET, oidc_issuer="https://idp.example.org"
        )

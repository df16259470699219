"""Every endpoint of every service needs a bearer token, except health, docs, secret-token calendar feeds and
signed unsubscribe links and signed survey-answer links."""

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from cercle_shared.db.migrations import upgrade
from tests.support.services import SERVICES, make_settings

PUBLIC = {"/healthz", "/readyz", "/asyncapi.json", "/asyncapi"}
# A secret token in the URL is its credential: calendar feeds; signed one-click unsubscribe links (RFC 8058: mail
# providers POST to them without any token).
SECRET_URL = re.compile(r"^/v1/(calendars|unsubscribe|survey-answers)/")
SIGN_IN = re.compile(r"^/v1/auth/")  # registration's sign-in: where a caller without a token gets one (rate-limited)


def _app(name: str, tmp_path):
    # No lifespan runs (the client is not entered), so no broker is needed: only routing and auth are exercised.
    settings = make_settings(name, f"sqlite:///{tmp_path / (name + '.db')}", "127.0.0.1:1")
    upgrade(SERVICES[name].bootstrap().MIGRATIONS, settings.database_url)
    return SERVICES[name].bootstrap().build_app(settings)


def _api_routes(routes):
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI's wrapper around an included router
            yield from _api_routes(route.original_router.routes)


def _routes(app):
    for route in _api_routes(app.routes):
        if route.path not in PUBLIC:
            for method in route.methods - {"HEAD", "OPTIONS"}:
                yield method, route.path


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_route_answers_401_problem_without_a_token(name, tmp_path):
    app = _app(name, tmp_path)
    client = TestClient(app, raise_server_exceptions=False)
    checked = 0
    for method, path in _routes(app):
        url = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        response = client.request(method, url)
        if SECRET_URL.match(path):
            assert response.status_code == 404, f"{method} {path}: an unknown feed token must reveal nothing"
            continue
        if name == "registration" and SIGN_IN.match(path):
            assert response.status_code == 422, f"{method} {path}: sign-in without its body must be refused"
            assert response.headers["content-type"].startswith("application/problem+json")
            continue
        assert response.status_code == 401, f"{method} {path} answered {response.status_code} without a token"
        assert response.headers["content-type"].startswith("application/problem+json")
        checked += 1
    assert checked >= 3, f"{name}: too few routes found"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_health_and_docs_need_no_token(name, tmp_path):
    client = TestClient(_app(name, tmp_path), raise_server_exceptions=False)
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/asyncapi.json").status_code == 200


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_openapi_document_describes_the_problem_answers_of_every_operation(name, tmp_path):
    schema = _app(name, tmp_path).openapi()
    assert "Problem" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        if path in PUBLIC or SECRET_URL.match(path):
            continue
        for method, operation in operations.items():
            for code in ("422",) if name == "registration" and SIGN_IN.match(path) else ("401", "403", "422"):
                content = operation["responses"][code]["content"]
                assert "application/problem+json" in content, f"{method.upper()} {path} {code}"

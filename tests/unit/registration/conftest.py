"""The registration service in process (tests/support/harness.py): the real app on a migrated SQLite database, no
broker; `h.published(...)` reads back its outbox, `db` counts rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.support.harness import ServiceHarness, harness, migrated_sqlite
from tests.support.services import auth


@pytest.fixture
def h(tmp_path, tmp_path_factory) -> Iterator[ServiceHarness]:
    yield from harness("registration", tmp_path, tmp_path_factory.getbasetemp())


@pytest.fixture
def db_url(h) -> str:
    return h.database_url


@pytest.fixture
def make_api(tmp_path, tmp_path_factory) -> Iterator[Callable[..., TestClient]]:
    """Another instance, with settings of its own, on a database of its own."""
    made: list[ServiceHarness] = []

    def make(**settings) -> TestClient:
        directory = tmp_path / f"other-{len(made)}"
        directory.mkdir()
        url = migrated_sqlite("registration", directory, tmp_path_factory.getbasetemp())
        made.append(ServiceHarness("registration", url, settings_overrides=settings))
        return made[-1].api

    yield make
    for other in made:
        other.runtime.engine.dispose()


@pytest.fixture
def api(h) -> TestClient:
    return h.api


class Db:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def count(self, table: str, where: str = "1=1", **params) -> int:
        with self.engine.connect() as c:
            return c.execute(text(f"select count(*) from {table} where {where}"), params).scalar_one()

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as c:
            return c.execute(text(sql), params).all()


@pytest.fixture
def db(db_url) -> Iterator[Db]:
    database = Db(db_url)
    yield database
    database.engine.dispose()


OPERATOR = auth("operator")


def member_body(email: str = "marie@example.org", **overrides) -> dict:
    body = {"display_name": "Marie Tremblay", "email": email, "region": "06", "consents": {"processing": True}}
    body.update(overrides)
    return body


def community_body(**overrides) -> dict:
    body = {"name_fr": "CoP Montréal", "name_en": "Montreal CoP", "regions": ["06"]}
    body.update(overrides)
    return body


@pytest.fixture
def register(api) -> Callable[..., dict]:
    def do(email: str = "marie@example.org", headers=None, **overrides) -> dict:
        response = api.post("/v1/members", json=member_body(email, **overrides), headers=headers or OPERATOR)
        assert response.status_code == 201, response.text
        return response.json()

    return do


@pytest.fixture
def found(api) -> Callable[..., dict]:
    def do(headers=None, **overrides) -> dict:
        response = api.post("/v1/communities", json=community_body(**overrides), headers=headers or OPERATOR)
        assert response.status_code == 201, response.text
        return response.json()

    return do

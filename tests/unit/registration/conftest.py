"""Registration on SQLite, in process: the real app without its lifespan (no broker), outbox rows read back."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from cercle_registration.bootstrap import MIGRATIONS, build_app
from cercle_registration.config import Settings
from cercle_shared.db.migrations import upgrade
from tests.support.services import JWT_SECRET, auth


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "registration.db"
    upgrade(MIGRATIONS, f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(tmp_path, migrated_template) -> str:
    """A fresh database per test, copied from one migrated at the start of the run."""
    path = tmp_path / "registration.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def make_api(db_url) -> Callable[..., TestClient]:
    def make(**overrides) -> TestClient:
        settings = Settings(database_url=db_url, jwt_secret=JWT_SECRET, kafka_bootstrap="localhost:1", **overrides)
        return TestClient(build_app(settings), raise_server_exceptions=False)

    return make


@pytest.fixture
def api(make_api) -> TestClient:
    return make_api()


class Db:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def count(self, table: str, where: str = "1=1", **params) -> int:
        with self.engine.connect() as c:
            return c.execute(text(f"select count(*) from {table} where {where}"), params).scalar_one()

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as c:
            return c.execute(text(sql), params).all()

    def events(self, event_type: str | None = None) -> list[dict]:
        """Outbox rows in order: {'type', 'topic', 'key', 'data' (None for a tombstone)}."""
        out = []
        for row in self.rows("select event_type, topic, key, value from outbox order by seq"):
            if event_type and row.event_type != f"org.cercle.registration.{event_type}.v1":
                continue
            out.append(
                {
                    "type": row.event_type,
                    "topic": row.topic,
                    "key": row.key,
                    "data": json.loads(row.value) if row.value else None,
                }
            )
        return out


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

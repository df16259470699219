"""Each service's AsyncAPI document is written under docs/ and kept current (`make docs`)."""

import json
from pathlib import Path

import pytest

from tests.support.services import SERVICES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"


def _generated(name: str) -> dict:
    module = SERVICES[name]
    settings = module.settings_cls()(
        jwt_secret="only-for-writing-the-asyncapi-documents"
    )  # the defaults `make docs` uses
    return module.bootstrap().build_runtime(settings).asyncapi()


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_committed_asyncapi_document_is_current(name, monkeypatch):
    for var in ("CERCLE_KAFKA_BOOTSTRAP", "CERCLE_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    committed = json.loads((DOCS / f"{name}.json").read_text())
    assert committed == _generated(name), f"docs/asyncapi/{name}.json is stale: run `make docs`"


def test_every_published_event_type_is_documented_by_its_service():
    from cercle_shared.contracts import CATALOG

    documented = set()
    for name in SERVICES:
        documented |= set(json.loads((DOCS / f"{name}.json").read_text())["channels"])
    assert {spec.type for spec in CATALOG} <= documented

"""Each service's Alembic migrations, applied, produce exactly the schema its ORM tables declare."""

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cercle_shared.db import make_engine
from cercle_shared.db.migrations import upgrade
from tests.support.services import SERVICES


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_migrations_at_head_match_the_orm_tables(name, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(SERVICES[name].bootstrap().MIGRATIONS, url)
    metadata = importlib.import_module(f"cercle_{name}.adapters.orm").metadata
    with make_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []

"""Fixtures of the shared package's unit tests."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from cercle_shared.db import make_engine, make_session_factory, messaging_tables


@pytest.fixture
def database(tmp_path):
    """A SQLite database with the messaging tables and one `effects` table for handlers to write to."""
    metadata = MetaData()
    tables = messaging_tables(metadata)
    effects = Table("effects", metadata, Column("id", Integer, primary_key=True), Column("member_id", String(40)))
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    return make_session_factory(engine), tables, effects

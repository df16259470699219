"""Alembic, the same way in every service: migrations live in the service package and run with one call."""

from __future__ import annotations

import os
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, engine_from_config, pool


def alembic_config(script_location: str, database_url: str) -> Config:
    """script_location in package form, e.g. 'cercle_registration:migrations'."""
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(script_location: str, database_url: str, revision: str = "head") -> None:
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    command.upgrade(alembic_config(script_location, database_url), revision)


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's migrations/env.py (online mode; offline renders SQL)."""
    config = context.config
    url = os.environ.get("CERCLE_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    section: dict[str, Any] = config.get_section(config.config_ini_section) or {}
    section["sqlalchemy.url"] = url
    connectable = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        # batch mode lets ALTER TABLE work on SQLite, the local default
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()

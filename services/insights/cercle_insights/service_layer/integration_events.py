"""The one place where this service's domain events become the integration events it publishes."""

from __future__ import annotations

from typing import Any

from cercle_shared.uow import translation_table

TABLE: dict[type[Any], Any] = {}

# --- surveys ---

# --- action plans ---

# --- community health ---

translate = translation_table(TABLE)

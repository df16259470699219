"""Contracts between Cercle's services: topics, event payloads and the catalog binding them."""

from .base import EventSpec, IntegrationEvent, TopicSpec, Visibility
from .catalog import CATALOG, EventCatalog

__all__ = ["CATALOG", "EventCatalog", "EventSpec", "IntegrationEvent", "TopicSpec", "Visibility"]

"""Tables of community health and of the figures by organization, region, theme and year (issue 11).

Projections (rebuilt from the topics): members' employer and region, organizations, themes, votes, sessions'
themes, who attended. Owned (`info={"owned": True}`, never emptied by a rebuild): each community's current health
state and the history of its alerts, since what was published cannot be taken back.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, Float, Index, Integer, String, Table

from cercle_shared.db import UtcDateTime

from .orm import mapper_registry, metadata

member_profiles = Table(
    "member_profiles",
    metadata,
    Column("member_id", String(64), primary_key=True),  # the row is deleted when the member is erased
    Column("organization_id", String(64), nullable=True),
    Column("region", String(2), nullable=True),
    Column("registered_at", UtcDateTime(), nullable=True),
    Index("ix_member_profiles_organization", "organization_id"),
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=True),  # null while a placeholder
    Column("region", String(2), nullable=True),
    Column("deleted_at", UtcDateTime(), nullable=True),
)

themes = Table(
    "themes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("community_id", String(64), nullable=False),
    Column("cycle_id", String(64), nullable=True),
    Column("title", String(200), nullable=True),  # null while a placeholder
    Column("proposed_at", UtcDateTime(), nullable=True),
    Column("merged_into_id", String(64), nullable=True),
    Column("retained", Boolean, nullable=False),
    Column("rank", Integer, nullable=True),
    Column("votes", Integer, nullable=True),  # at retention
    Index("ix_themes_community", "community_id", "proposed_at"),
)

theme_votes = Table(
    "theme_votes",
    metadata,
    Column("vote_id", String(64), primary_key=True),
    Column("theme_id", String(64), nullable=False),
    Column("community_id", String(64), nullable=False),
    Column("cycle_id", String(64), nullable=True),
    Column("cast_at", UtcDateTime(), nullable=False),
    Index("ix_theme_votes_community", "community_id", "cast_at"),
    Index("ix_theme_votes_theme", "theme_id"),
)

session_themes = Table(
    "session_themes",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("community_id", String(64), nullable=False),
    Column("theme_id", String(64), nullable=True),
    Index("ix_session_themes_theme", "theme_id"),
)

session_attendees = Table(
    "session_attendees",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(64), nullable=False),
    Column("community_id", String(64), nullable=False),
    Column("member_id", String(64), nullable=True),  # null once erased
    Index("ix_session_attendees_session", "session_id"),
    Index("ix_session_attendees_community", "community_id", "member_id"),
    Index("ix_session_attendees_member", "member_id"),
)

health_states = Table(
    "health_states",
    metadata,
    Column("community_id", String(64), primary_key=True),
    Column("status", String(10), nullable=False),
    Column("signals", JSON, nullable=False),
    Column("score", Float, nullable=False),
    Column("month", Date, nullable=False),
    Column("assessed_at", UtcDateTime(), nullable=False),
    Column("changed_at", UtcDateTime(), nullable=True),
    Column("changes", Integer, nullable=False),
    info={"owned": True},
)

health_alerts = Table(
    "health_alerts",
    metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("community_id", String(64), nullable=False),
    Column("status", String(10), nullable=False),
    Column("signals", JSON, nullable=False),
    Column("score", Float, nullable=False),
    Column("month", Date, nullable=False),
    Column("alerted_at", UtcDateTime(), nullable=False),
    Index("ix_health_alerts_community", "community_id", "alerted_at"),
    info={"owned": True},
)


def start_mappers() -> None:
    """Map this feature's domain classes (called once by orm.start_mappers)."""
    from ..domain.health import HealthWatch

    mapper_registry.map_imperatively(HealthWatch, health_states)

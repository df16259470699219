"""Tables of surveys (issue 11), on the insights metadata.

Owned (`info={"owned": True}`: a rebuild keeps them): surveys, invitations (who was asked, whether she answered)
and answers (what was answered, with no member and no time). Projections (rebuilt from the topics): consents to
surveys and the members present at each held session.
"""

from __future__ import annotations

import functools

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from cercle_shared.db import StrEnumType, UtcDateTime

from ..domain.surveys import Answer, Invitation, Survey, SurveyKind
from .orm import mapper_registry, metadata

surveys = Table(
    "surveys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", StrEnumType(SurveyKind, 20), nullable=False),
    Column("title_fr", String(200), nullable=False),
    Column("title_en", String(200), nullable=False),
    Column("year", Integer, nullable=False),
    Column("opens_at", UtcDateTime(), nullable=False),
    Column("closes_at", UtcDateTime(), nullable=False),
    Column("items", JSON, nullable=False),
    Column("reminder_days", JSON, nullable=False),
    Column("community_id", String(64), nullable=True),
    Column("region", String(2), nullable=True),
    Column("session_id", String(64), nullable=True),
    Column("theme_id", String(64), nullable=True),
    Column("created_by", String(200), nullable=True),
    Column("created_at", UtcDateTime(), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Index("ix_surveys_community", "community_id"),
    Index("ix_surveys_region", "region"),
    Index("ix_surveys_closes_at", "closes_at"),
    info={"owned": True},
)

# Participation: who was asked and whether she answered; never what, never when she answered.
survey_invitations = Table(
    "survey_invitations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("survey_id", String(64), ForeignKey("surveys.id"), nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("community_id", String(64), nullable=True),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("rounds_sent", Integer, nullable=False),
    Column("answered", Boolean, nullable=False),
    UniqueConstraint("survey_id", "member_id", name="uq_survey_invitations_member"),
    Index("ix_survey_invitations_member", "member_id"),
    info={"owned": True},
)

# Answers: no member id, no time, a random id; only the attributes results are grouped by.
survey_answers = Table(
    "survey_answers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("survey_id", String(64), ForeignKey("surveys.id"), nullable=False),
    Column("kind", StrEnumType(SurveyKind, 20), nullable=False),
    Column("year", Integer, nullable=False),
    Column("community_id", String(64), nullable=True),
    Column("theme_id", String(64), nullable=True),
    Column("session_id", String(64), nullable=True),
    Column("scores", JSON, nullable=False),
    Column("texts", JSON, nullable=False),
    Index("ix_survey_answers_survey", "survey_id"),
    Index("ix_survey_answers_community_year", "community_id", "year"),
    info={"owned": True},
)

survey_consents = Table(
    "survey_consents",
    metadata,
    Column("member_id", String(64), primary_key=True),
    Column("granted", Boolean, nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
)

# The members marked present at a session (the latest attendance), and whether it was held: who gets its feedback.
survey_attendance = Table(
    "survey_attendance",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("community_id", String(64), nullable=False),
    Column("theme_id", String(64), nullable=True),
    Column("held", Boolean, nullable=False),
    Column("starts_at", UtcDateTime(), nullable=True),
    Column("present_member_ids", JSON, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=True),
)


@functools.cache
def start_mappers() -> None:
    """Map this feature's domain classes (called once by orm.start_mappers)."""
    mapper_registry.map_imperatively(Survey, surveys)
    mapper_registry.map_imperatively(Invitation, survey_invitations)
    mapper_registry.map_imperatively(Answer, survey_answers)

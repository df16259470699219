"""Tables of action plans (issue 11), on the insights metadata. Owned: nothing on the topics rebuilds them."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from cercle_shared.db import StrEnumType, UtcDateTime

from ..domain.action_plans import ActionPlan, FollowUpWith, Nudge, NudgeKind, PlanStep, Step
from .orm import mapper_registry, metadata

OWNED = {"owned": True}

action_plans = Table(
    "action_plans",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("member_id", String(64), nullable=True),  # null once erased
    Column("anonymous_owner", String(64), nullable=True),
    Column("community_id", String(64), nullable=False),
    Column("session_id", String(64), nullable=True),
    Column("theme_id", String(64), nullable=True),
    Column("organization_id", String(64), nullable=True),
    Column("title", String(200), nullable=False),
    Column("private_notes", Text, nullable=True),
    Column("reached", StrEnumType(Step, 30), nullable=False),
    Column("stage", Integer, nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("opened_year", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("follow_up_on", Date, nullable=True),
    Column("follow_up_with", StrEnumType(FollowUpWith, 20), nullable=True),
    Column("dropped_on", Date, nullable=True),
    Column("drop_reason", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Index("ix_action_plans_member", "member_id", "opened_at", "id"),
    Index("ix_action_plans_community", "community_id", "opened_at", "id"),
    info=OWNED,
)

action_plan_steps = Table(
    "action_plan_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", String(64), ForeignKey("action_plans.id", ondelete="CASCADE"), nullable=False),
    Column("step", StrEnumType(Step, 30), nullable=False),
    Column("happened_on", Date, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("notes", Text, nullable=True),
    Column("resource_ids", JSON, nullable=False),
    Index("ix_action_plan_steps_plan", "plan_id"),
    info=OWNED,
)

# One row per reminder sent: the unique (plan, kind, day) is what makes each nudge go out once.
action_plan_nudges = Table(
    "action_plan_nudges",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("plan_id", String(64), ForeignKey("action_plans.id", ondelete="CASCADE"), nullable=False),
    Column("kind", StrEnumType(NudgeKind, 20), nullable=False),
    Column("about", Date, nullable=False),
    Column("nudged_at", UtcDateTime(), nullable=False),
    UniqueConstraint("plan_id", "kind", "about", name="uq_action_plan_nudges_plan_kind_about"),
    info=OWNED,
)


def start_mappers() -> None:
    """Map this feature's domain classes (called once by orm.start_mappers)."""
    mapper_registry.map_imperatively(PlanStep, action_plan_steps)
    mapper_registry.map_imperatively(
        ActionPlan,
        action_plans,
        version_id_col=action_plans.c.version,
        version_id_generator=False,  # the aggregate numbers its versions (ETag), the mapper checks them
        properties={
            "steps": relationship(
                PlanStep, order_by=action_plan_steps.c.id, cascade="all, delete-orphan", lazy="selectin"
            )
        },
    )
    mapper_registry.map_imperatively(Nudge, action_plan_nudges)

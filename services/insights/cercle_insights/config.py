from pydantic import Field

from cercle_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    database_url: str = Field(default="sqlite:///.data/insights.db", description="Own database (read models).")
    http_port: int = Field(default=8004, description="HTTP port.")
    action_plan_url: str = Field(
        default="http://127.0.0.1:8004/v1/action-plans/{plan_id}",
        description="Where a member updates her action plan, as the nudge email links it; {plan_id} is replaced. "
        "Set it to the public address of the members' app.",
    )
    action_plan_nudge_interval: float = Field(
        default=3600.0, gt=0, description="Seconds between runs of the job that nudges members about their plans."
    )
    action_plan_min_group: int = Field(
        default=5, ge=1, description="Fewest people behind a funnel figure a partner may read (else hidden)."
    )
    # --- community health ---
    health_assessment_interval: float = Field(
        default=21600.0, gt=0, description="Seconds between runs of the job that raises and clears health alerts."
    )
    health_series_months: int = Field(
        default=24, ge=1, le=120, description="Months of the monthly series the health routes answer with by default."
    )
    health_attendance_min_drop: float = Field(
        default=0.10, ge=0, lt=1, description="Attendance down: the last of 3 falling sessions has this share fewer."
    )
    health_no_join_months: int = Field(default=6, ge=1, description="No new member for this many months: a sign.")
    health_participation_min_drop: float = Field(
        default=0.20, ge=0, lt=1, description="Proposals and votes per member fell by this share over a year: a sign."
    )
    health_aging_months: int = Field(default=36, ge=1, description="Past this age (months) a community is aging.")
    breakdown_min_group: int = Field(
        default=5, ge=1, description='Fewest people behind a figure by organization (else hidden, "not enough").'
    )
    dashboard_link_ttl: float = Field(
        default=900.0,
        gt=0,
        le=86400,
        description="Seconds a signed dashboard link (POST /v1/dashboard-links) opens its page; ask again after.",
    )

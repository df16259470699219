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
    # --- surveys ---
    survey_public_url: str = Field(
        default="http://127.0.0.1:8004",
        description="Public base URL of insights, for the answer links in survey invitations (no trailing slash).",
    )
    survey_min_group: int = Field(
        default=5, ge=1, description='Fewest respondents behind a survey figure (else "not enough answers").'
    )
    survey_feedback_delay_hours: float = Field(
        default=24.0, ge=0, description="Hours after a session starts before its feedback survey is sent."
    )
    survey_feedback_open_days: int = Field(
        default=14, ge=1, description="Days a post-session feedback survey takes answers."
    )
    survey_reminder_days: list[int] = Field(
        default=[3, 7],
        description="Days after the invitation when a reminder goes to who has not answered (feedback surveys, and "
        "the default of annual ones).",
    )
    survey_job_interval: float = Field(
        default=300.0, gt=0, description="Seconds between runs of the job that sends survey invitations and reminders."
    )
    dashboard_link_ttl: float = Field(
        default=900.0,
        gt=0,
        le=86400,
        description="Seconds a signed dashboard link (POST /v1/dashboard-links) opens its page; ask again after.",
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

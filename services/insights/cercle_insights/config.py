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

from pydantic import Field

from cercle_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    database_url: str = Field(default="sqlite:///.data/sessions.db", description="Own database.")
    http_port: int = Field(default=8002, description="HTTP port.")
    public_base_url: str = Field(
        default="http://127.0.0.1:8002",
        description="Base URL calendar apps use to reach this service (for calendar feed links).",
    )
    vote_close_interval: float = Field(
        default=60.0, gt=0, description="How often (s) votes whose window has ended are closed and counted."
    )

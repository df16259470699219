from pydantic import Field

from cercle_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    database_url: str = Field(default="sqlite:///.data/registration.db", description="Own database.")
    http_port: int = Field(default=8001, description="HTTP port.")
    enabled_regions: str = Field(
        default="", description="Comma-separated region codes this deployment serves; empty: all 17."
    )

from pydantic import Field

from cercle_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    database_url: str = Field(default="sqlite:///.data/insights.db", description="Own database (read models).")
    http_port: int = Field(default=8004, description="HTTP port.")

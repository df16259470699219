from pydantic import Field

from cercle_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    database_url: str = Field(default="sqlite:///.data/registration.db", description="Own database.")
    http_port: int = Field(default=8001, description="HTTP port.")
    import_stall_timeout: float = Field(
        default=600.0,
        gt=0,
        description="An import that wrote no chunk for this long (s) was left midway (its process stopped): "
        "the undo-interrupted-imports job erases what it wrote.",
    )
    import_check_interval: float = Field(
        default=60.0, gt=0, description="How often (s) imports left midway are looked for."
    )
    enabled_regions: str = Field(
        default="", description="Comma-separated region codes this deployment serves; empty: all 17."
    )

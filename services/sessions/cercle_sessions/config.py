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
    feed_miss_limit: int = Field(
        default=20,
        ge=1,
        description="Calendar feed URLs: how many misses (unknown or revoked feed tokens) one client address may "
        "make within feed_miss_window seconds; beyond, every feed request from that address answers 429 with "
        "Retry-After until the oldest miss leaves the window. Counted per process, by the connecting address.",
    )
    feed_miss_window: float = Field(
        default=600.0, gt=0, description="Sliding window (s) over which feed URL misses are counted per address."
    )
    feed_miss_clients: int = Field(
        default=10_000,
        ge=1,
        description="At most this many client addresses are tracked for feed misses (the stalest are forgotten).",
    )

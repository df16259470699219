from pydantic import Field, SecretStr

from cercle_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    database_url: str = Field(default="sqlite:///.data/notifications.db", description="Own database.")
    http_port: int = Field(default=8003, description="HTTP port.")

    smtp_host: str = Field(default="127.0.0.1", description="SMTP server host.")
    smtp_port: int = Field(default=1025, description="SMTP server port.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if the server needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password; no default on purpose.")
    smtp_timeout: float = Field(default=10.0, gt=0, description="Bound on one SMTP conversation (s).")
    mail_from: str = Field(default="Cercle <no-reply@cercle.local>", description="From header of every email.")

    sender_poll_interval: float = Field(default=1.0, gt=0, description="How often the sender looks for due emails (s).")
    sender_batch_size: int = Field(default=20, ge=1, description="Emails sent per pass at most.")
    sender_max_attempts: int = Field(default=6, ge=1, description="SMTP attempts before a delivery is failed.")
    sender_backoff_initial: float = Field(default=30.0, gt=0, description="First retry delay, doubled each time (s).")
    sender_backoff_max: float = Field(default=3600.0, gt=0, description="Longest retry delay (s).")
    contact_wait_timeout: float = Field(
        default=48 * 3600.0,
        gt=0,
        description="How long a delivery waits for the member's contact (or the session) before it expires (s).",
    )

    timed_poll_interval: float = Field(
        default=15.0, gt=0, description="How often due timed messages (reminders, briefs...) are handed to sending (s)."
    )
    timed_batch_size: int = Field(default=200, ge=1, description="Timed messages claimed per transaction at most.")

    # Partner webhooks (issue 9)
    webhook_allow_hosts: str = Field(
        default="",
        description="Comma-separated hosts that may be plain http and skip the SSRF address check (tests and local "
        "runs use it for loopback receivers). Empty in production.",
    )
    webhook_retry_schedule: str = Field(
        default="0,5,300,1800,7200,18000,36000,36000",
        description="Delays (s) before each try of a webhook: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.",
    )
    webhook_secret_key: SecretStr | None = Field(
        default=None,
        description="Key material that seals endpoint signing secrets at rest; default: derived from the JWT secret.",
    )
    webhook_poll_interval: float = Field(default=0.25, gt=0, description="How often due webhooks are looked for (s).")
    webhook_batch_size: int = Field(default=100, ge=1, description="Webhook messages claimed per round at most.")
    webhook_endpoint_concurrency: int = Field(default=4, ge=1, description="Requests in flight per endpoint at most.")
    webhook_timeout: float = Field(default=15.0, gt=0, description="A 2xx within this long is a success (s).")
    webhook_connect_timeout: float = Field(default=5.0, gt=0, description="Bound on connecting to an endpoint (s).")
    webhook_lease: float = Field(
        default=60.0, gt=0, description="How long a claimed webhook is ours before another instance may send it (s)."
    )

    # Members' messages (issue 10): announcements, weekly digest, one-click unsubscribe
    public_url: str = Field(
        default="http://localhost:8003",
        description="This service's public address: one-click unsubscribe links point at <this>/v1/unsubscribe/...",
    )
    public_sessions_url: str = Field(
        default="http://localhost:8002/v1/sessions",
        description="Where members see a session and register: an announcement's link is <this>/<session_id>.",
    )
    unsubscribe_key: SecretStr | None = Field(
        default=None,
        description="HMAC key that signs one-click unsubscribe links; default: derived from the JWT secret. "
        "Changing it breaks the links of emails already sent.",
    )
    unsubscribe_mailto: str = Field(
        default="unsubscribe@cercle.local",
        description="Address of the mailto: List-Unsubscribe alternative (its mailbox is read by people, not code).",
    )
    digest_hour: int = Field(
        default=8, ge=0, le=23, description="Local hour (America/Toronto) from which a member's weekly digest goes."
    )
    digest_poll_interval: float = Field(default=900.0, gt=0, description="How often weekly digests are looked for (s).")

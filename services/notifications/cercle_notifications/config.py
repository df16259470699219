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

from pydantic import Field, model_validator

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

    # Sign-in without passwords (docs/sign-in.md)
    sign_in_url: str | None = Field(
        default=None,
        min_length=1,
        description="Start of the emailed sign-in link; the one-time code is appended. Default: registration's own "
        "small page, http://<http_host>:<http_port>/v1/auth/callback?code=, which posts the code to /v1/auth/token; "
        "point it at your front end (https://…?code=) in production.",
    )
    sign_in_code_ttl: float = Field(default=900.0, gt=0, description="Seconds a sign-in link stays valid.")
    access_token_ttl: float = Field(default=900.0, gt=0, description="Seconds an access token (JWT) stays valid.")
    refresh_token_ttl: float = Field(
        default=30 * 86400.0, gt=0, description="Seconds a sign-in lasts through refresh tokens (not extended)."
    )
    sign_in_rate_window: float = Field(default=900.0, gt=0, description="Window (s) of the sign-in rate limits.")
    sign_in_links_per_email: int = Field(default=5, ge=1, description="Links asked per email address per window.")
    sign_in_links_per_address: int = Field(default=30, ge=1, description="Links asked per client address per window.")
    sign_in_tokens_per_address: int = Field(
        default=60, ge=1, description="Token, refresh, logout and OIDC calls per client address per window."
    )
    sign_in_purge_interval: float = Field(
        default=3600.0, gt=0, description="How often (s) expired codes, tokens and counted attempts are deleted."
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="OpenID Connect issuer whose ID tokens (RS256/ES256) may be exchanged at /v1/auth/oidc; unset: "
        "off. Its discovery document gives the JWKS.",
    )
    oidc_audience: str | None = Field(default=None, description="The `aud` those ID tokens must carry (client id).")
    oidc_jwks_cache: float = Field(default=300.0, gt=0, description="Seconds the issuer's keys are cached.")
    oidc_jwks_cooldown: float = Field(
        default=30.0,
        ge=0,
        description="Least seconds between two fetches of the JWKS for tokens naming a key it lacks (a rotated key "
        "is found; a flood of made-up key ids cannot make Cercle hammer the issuer).",
    )
    oidc_timeout: float = Field(default=5.0, gt=0, description="Bound (s) on fetching the discovery document/JWKS.")

    @model_validator(mode="after")
    def _oidc_needs_an_audience(self) -> "Settings":
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError(
                "CERCLE_OIDC_AUDIENCE is required with CERCLE_OIDC_ISSUER: tokens meant for another "
                "client must be refused"
            )
        return self

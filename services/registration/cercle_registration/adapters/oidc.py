"""ID tokens of an OpenID Connect issuer (an organization's identity provider), checked against its published keys.

The discovery document (`<issuer>/.well-known/openid-configuration`) names the JWKS; both are fetched over HTTP and
cached. PyJWT's PyJWKClient caches the key set and fetches it again once when a token names a key it does not know
(the issuer rotated its keys).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHMS = ["RS256", "ES256"]
MAX_DOCUMENT = 1_000_000  # bytes; a discovery document is a few kB
LEEWAY = 30  # seconds of clock skew tolerated on exp/iat/nbf


class OidcError(ValueError):
    pass


@dataclass(frozen=True)
class VerifiedEmail:
    email: str
    subject: str


class OidcVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        cache_seconds: float = 300.0,
        timeout: float = 5.0,
        refetch_cooldown: float = 30.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._cache_seconds = cache_seconds
        self._timeout = timeout
        self._cooldown = refetch_cooldown
        self._lock = threading.Lock()
        self._jwks: jwt.PyJWKClient | None = None
        self._fetched_at = 0.0

    def _discover(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._jwks is None or time.monotonic() - self._fetched_at > self._cache_seconds:
                url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                document = self._fetch_json(url)
                if document.get("issuer") != self.issuer:
                    raise OidcError("the discovery document names another issuer")
                jwks_uri = document.get("jwks_uri")
                if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
                    raise OidcError("the discovery document names no HTTP(S) jwks_uri")
                self._jwks = jwt.PyJWKClient(
                    jwks_uri,
                    cache_jwk_set=True,
                    lifespan=max(1.0, self._cache_seconds),
                    timeout=self._timeout,
                    cooldown_duration=self._cooldown,
                )
                self._fetched_at = time.monotonic()
            return self._jwks

    def _fetch_json(self, url: str) -> dict[str, Any]:
        if not url.startswith(("https://", "http://")):
            raise OidcError("the issuer must be an HTTP(S) URL")
        try:
            with urllib.request.urlopen(url, timeout=self._timeout) as response:
                body = response.read(MAX_DOCUMENT + 1)
        except OSError as exc:
            raise OidcError(f"the issuer's discovery document could not be read: {exc}") from exc
        if len(body) > MAX_DOCUMENT:
            raise OidcError("the issuer's discovery document is too large")
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise OidcError("the issuer's discovery document is not JSON") from exc
        if not isinstance(document, dict):
            raise OidcError("the issuer's discovery document is not a JSON object")
        return document

    def verify(self, id_token: str) -> VerifiedEmail:
        """The verified email of a valid ID token from the issuer, for the audience; OidcError for anything else."""
        try:
            key = self._discover().get_signing_key_from_jwt(id_token)
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except OidcError:
            raise
        except Exception as exc:  # PyJWT's errors (PyJWKClientError included), and what malformed input raises
            raise OidcError(str(exc) if isinstance(exc, jwt.PyJWTError) else "malformed ID token") from exc
        email = claims.get("email")
        if not isinstance(email, str) or not email:
            raise OidcError("the ID token carries no email")
        if claims.get("email_verified") is not True:
            raise OidcError("the issuer has not verified this email")
        return VerifiedEmail(email=email, subject=str(claims["sub"]))

"""The way out to partners' endpoints: the SSRF guard, Standard Webhooks signing, and a bounded HTTP client.

The guard runs when an endpoint is created or changed and again before every attempt: the host is resolved and
every address it resolves to is checked, then the connection goes to the address that was checked (so a DNS
answer that changes between the check and the connection cannot reach an inside address). Hosts listed in
CERCLE_WEBHOOK_ALLOW_HOSTS (tests and local runs, for their loopback receivers) may use plain http and skip the
address check; nothing else may.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import ipaddress
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from standardwebhooks import Webhook

MAX_RESPONSE_BODY = 64 * 1024  # read at most this much of an answer
LOGGED_BODY = 2000  # and keep this much of it in the log
LOGGED_URL = 300
SECRET_BYTES = 32

Resolver = Callable[[str, int], list[str]]
"""resolve(host, port) -> every address the host resolves to (tests pass a stub)."""

_BLOCKED = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # unspecified, "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        "::/128",
        "::1/128",
        "64:ff9b::/96",  # NAT64 may reach an inside IPv4 address
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",
        "ff00::/8",  # multicast
    )
]


class Refused(Exception):
    """The URL or one of its addresses is not one Cercle sends to; no packet was sent."""


def refused_reason(address: str) -> str | None:
    """Why this address is refused, or None when it is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            inner = refused_reason(str(mapped))
            return f"{ip} maps to {mapped}: {inner}" if inner else None
        if ip.teredo is not None:
            return f"{ip} is a Teredo address"
    for network in _BLOCKED:
        if ip.version == network.version and ip in network:
            return f"{ip} is in {network}, which is not a public address"
    if not ip.is_global or ip.is_multicast:
        return f"{ip} is not a public unicast address"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class Target:
    """Where to connect: the checked address, and the host name for the Host header and TLS."""

    scheme: str
    host: str
    port: int
    address: str
    url: str

    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{literal}:{self.port}"
        return parts._replace(netloc=netloc).geturl()

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


class UrlGuard:
    def __init__(self, allow_hosts: Iterable[str] = (), resolver: Resolver = system_resolver) -> None:
        self.allow_hosts = frozenset(h.strip().lower().strip("[]") for h in allow_hosts if h.strip())
        self.resolver = resolver

    def check_form(self, url: str) -> tuple[str, str, int]:
        """Scheme, host and port of an acceptable URL (no resolution yet)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise Refused(f"not a valid URL: {exc}") from exc
        host = (parts.hostname or "").lower()
        if not host:
            raise Refused("the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise Refused("credentials in the URL are not allowed")
        if parts.scheme not in ("https", "http"):
            raise Refused("the URL must be https")
        if parts.scheme == "http" and host not in self.allow_hosts:
            raise Refused("the URL must be https (plain http only for hosts in CERCLE_WEBHOOK_ALLOW_HOSTS)")
        return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)

    def check(self, url: str) -> Target:
        """Resolve and check every address now; the Target pins the address that was checked."""
        scheme, host, port = self.check_form(url)
        if host in self.allow_hosts:
            addresses = self._resolve(host, port)
            return Target(scheme, host, port, addresses[0], url)
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        addresses = [str(literal)] if literal is not None else self._resolve(host, port)
        for address in addresses:
            reason = refused_reason(address)
            if reason:
                raise Refused(f"{host} resolves to a refused address: {reason}")
        return Target(scheme, host, port, addresses[0], url)

    def _resolve(self, host: str, port: int) -> list[str]:
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise Refused(f"{host} does not resolve: {exc}") from exc
        if not addresses:
            raise Refused(f"{host} does not resolve")
        return addresses


# --- secrets ----------------------------------------------------------------------------------------------------


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: whsec_ and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class SecretBox:
    """Seals signing secrets at rest with AES-GCM. They cannot be hashed: Cercle must sign with them."""

    def __init__(self, key_material: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cercle webhook secrets v1").derive(
            key_material
        )
        self._aead = AESGCM(key)

    def seal(self, secret: str) -> str:
        nonce = secrets.token_bytes(12)
        return "v1." + base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, secret.encode(), None)).decode()

    def open(self, sealed: str) -> str:
        raw = base64.urlsafe_b64decode(sealed.removeprefix("v1.").encode())
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """`v1,<sig>` per active secret, space-separated (two during a rotation's overlap)."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets_)


# --- sending ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    latency_ms: float | None
    body: str | None
    error: str | None = None
    retry_after: float | None = None
    refused: bool = False


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def short_url(url: str) -> str:
    return url if len(url) <= LOGGED_URL else url[: LOGGED_URL - 1] + "…"


class WebhookClient:
    """POSTs signed CloudEvents; never follows a redirect; reads at most 64 KiB of an answer."""

    def __init__(
        self,
        guard: UrlGuard,
        *,
        connect_timeout: float = 5.0,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.guard = guard
        self.timeout = timeout
        self._connect_timeout = connect_timeout
        self._transport = transport
        self._clients: dict[int, httpx.AsyncClient] = {}

    def _client(self) -> httpx.AsyncClient:
        # one pool per event loop (the service has one; tests may run several in turn)
        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, connect=self._connect_timeout),
                follow_redirects=False,
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                transport=self._transport,
                trust_env=False,  # never through a proxy from the environment
            )
            self._clients = {loop: client}
        return client

    async def post(
        self, url: str, *, msg_id: str, body: str, secrets_: list[str], timestamp: datetime | None = None
    ) -> Outcome:
        try:
            target = await asyncio.to_thread(self.guard.check, url)
        except Refused as exc:
            return Outcome(False, None, None, None, error=f"refused: {exc}", refused=True)
        stamp = timestamp or datetime.now(UTC)
        headers = {
            "content-type": "application/cloudevents+json",
            "user-agent": "Cercle-Webhooks/1",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": signature_header(secrets_, msg_id, stamp, body),
            "host": target.host_header,
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        started = time.monotonic()
        try:
            return await asyncio.wait_for(
                self._exchange(target.pinned_url(), headers, body.encode(), extensions, started), self.timeout
            )
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(False, None, _ms(started), None, error=f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Outcome(False, None, _ms(started), None, error=f"{type(exc).__name__}: {exc}"[:500])

    async def _exchange(
        self, url: str, headers: dict[str, str], content: bytes, extensions: dict[str, str], started: float
    ) -> Outcome:
        client = self._client()
        request = client.build_request("POST", url, headers=headers, content=content, extensions=extensions)
        response = await client.send(request, stream=True)
        try:
            latency = _ms(started)
            received = bytearray()
            async for chunk in response.aiter_raw():
                received.extend(chunk)
                if len(received) >= MAX_RESPONSE_BODY:
                    break
        finally:
            await response.aclose()
        text = bytes(received[:MAX_RESPONSE_BODY]).decode("utf-8", errors="replace")[:LOGGED_BODY]
        code = response.status_code
        retry_after = parse_retry_after(response.headers.get("retry-after")) if code in (429, 503) else None
        return Outcome(200 <= code < 300, code, latency, text, retry_after=retry_after)


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)

"""The SSRF guard: literal addresses and a stub resolver only; a tripwire transport proves no connection is made."""

from __future__ import annotations

import httpx
import pytest

from cercle_notifications.adapters.webhook_client import Refused, UrlGuard, refused_reason

from .helpers import endpoint, grant, registration_confirmed

ORG = "org-a"
PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private 10/8"),
    ("172.16.0.1", "private 172.16/12"),
    ("172.31.255.255", "private 172.16/12"),
    ("192.168.1.1", "private 192.168/16"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.1.1", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("::1", "IPv6 loopback"),
    ("::", "IPv6 unspecified"),
    ("fc00::1", "IPv6 unique local"),
    ("fd12:3456::1", "IPv6 unique local"),
    ("fe80::1", "IPv6 link-local"),
    ("ff02::1", "IPv6 multicast"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:10.0.0.1", "IPv4-mapped private"),
    ("::ffff:169.254.169.254", "IPv4-mapped metadata"),
    ("64:ff9b::a00:1", "NAT64 of 10.0.0.1"),
    ("2002:a00:1::1", "6to4 of 10.0.0.1"),
]


@pytest.mark.parametrize(("address", "kind"), REFUSED, ids=[k for _, k in REFUSED])
def test_every_inside_address_is_refused(address, kind):
    assert refused_reason(address) is not None, kind


@pytest.mark.parametrize("address", [PUBLIC_V4, PUBLIC_V6])
def test_public_unicast_addresses_are_allowed(address):
    assert refused_reason(address) is None


@pytest.mark.parametrize(("address", "kind"), REFUSED, ids=[k for _, k in REFUSED])
def test_a_url_with_a_literal_inside_address_is_refused_without_resolving(address, kind):
    def resolver(host, port):
        raise AssertionError("a literal address needs no resolution")

    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(Refused):
        UrlGuard(resolver=resolver).check(f"https://{literal}/hooks")


@pytest.mark.parametrize(("address", "kind"), REFUSED, ids=[k for _, k in REFUSED])
def test_a_host_name_resolving_to_an_inside_address_is_refused(address, kind):
    guard = UrlGuard(resolver=lambda host, port: [PUBLIC_V4, address])  # one bad address is enough
    with pytest.raises(Refused):
        guard.check("https://hooks.partner.example/x")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.partner.example/x",  # plain http, not allow-listed
        "ftp://hooks.partner.example/x",
        "https://user:pw@hooks.partner.example/x",
        "https:///nohost",
        "https://hooks.partner.example:99999/x",
    ],
)
def test_only_https_urls_without_credentials_are_accepted(url):
    with pytest.raises(Refused):
        UrlGuard(resolver=lambda host, port: [PUBLIC_V4]).check(url)


def test_allow_listed_hosts_may_use_plain_http_on_loopback():
    target = UrlGuard(["127.0.0.1"], resolver=lambda host, port: ["127.0.0.1"]).check("http://127.0.0.1:8080/x")
    assert target.address == "127.0.0.1"


class Tripwire(httpx.AsyncBaseTransport):
    """Records any request instead of sending it: no packet leaves."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, content=b"ok")


@pytest.fixture
def tripwire(h):
    config = h.app.state.partners
    wire = Tripwire()
    config.client._transport = wire
    config.client._clients = {}
    return wire


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "[::1]", "[::ffff:192.168.0.1]", "100.64.0.1"])
def test_creating_an_endpoint_on_an_inside_address_is_refused(h, tripwire, address):
    grant(h.api, ORG, h.as_operator())
    r = h.api.post(
        f"/v1/partners/{ORG}/endpoints",
        json={"url": f"https://{address}/hooks", "event_types": ["org.cercle.sessions.registration.*"]},
        headers=h.as_partner(ORG),
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "url"
    assert tripwire.requests == []


def test_a_host_that_resolves_elsewhere_at_send_time_is_refused_before_any_connection(h, tripwire):
    answers = {"hooks.partner.example": [PUBLIC_V4]}
    h.app.state.partners.guard.resolver = lambda host, port: answers[host]
    grant(h.api, ORG, h.as_operator())
    ep = endpoint(h.api, ORG, h.as_partner(ORG), "https://hooks.partner.example/x")
    answers["hooks.partner.example"] = ["10.1.2.3"]  # DNS rebinding after the creation check
    h.publish(registration_confirmed("c-1"))
    h.run_job("deliver-webhooks")
    assert tripwire.requests == []
    messages = h.api.get(f"/v1/partners/{ORG}/endpoints/{ep['id']}/messages", headers=h.as_partner(ORG)).json()
    [message] = messages["items"]
    attempts = h.api.get(
        f"/v1/partners/{ORG}/endpoints/{ep['id']}/messages/{message['id']}/attempts", headers=h.as_partner(ORG)
    ).json()["items"]
    assert attempts[0]["outcome"] == "refused"
    assert "10.1.2.3" in attempts[0]["error"]
    assert message["status"] == "pending"  # tried again on the schedule, checked again each time


def test_the_connection_goes_to_the_address_that_was_checked(h, tripwire):
    h.app.state.partners.guard.resolver = lambda host, port: [PUBLIC_V4]
    grant(h.api, ORG, h.as_operator())
    endpoint(h.api, ORG, h.as_partner(ORG), "https://hooks.partner.example/x")
    h.publish(registration_confirmed("c-1"))
    h.run_job("deliver-webhooks")
    [request] = tripwire.requests  # recorded by the tripwire: nothing was sent
    assert request.url.host == PUBLIC_V4
    assert request.headers["host"] == "hooks.partner.example"
    assert request.extensions["sni_hostname"] == "hooks.partner.example"

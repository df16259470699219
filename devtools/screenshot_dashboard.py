"""A community's dashboard in a real headless Chromium: the helpers the browser tests use, and the README's picture.

    python -m devtools.screenshot_dashboard [--out docs/images/dashboard.png] [--width 1000]

builds insights on a throw-away SQLite database, projects a believable year of a community (members, sessions,
attendance) through the real consumer path, serves it on loopback, asks the API for a signed link and opens it in
Debian's chromium (driven by Selenium through Debian's chromium-driver; `python -m devtools.setup chromium`
installs both). The browser reaches nothing but loopback.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# Every host name resolves to nothing except loopback, and no background service of the browser runs: the page
# under test is the only traffic.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--disable-client-side-phishing-detection",
    "--disable-features=OptimizationHints,Translate,MediaRouter,AutofillServerCommunication",
    "--metrics-recording-only",
    "--no-pings",
    "--proxy-server=direct://",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--lang=fr-CA",
)


class ChromiumMissing(RuntimeError):
    pass


def chromium_paths() -> tuple[str, str]:
    """Debian's chromium and chromedriver, or ChromiumMissing saying how to install them."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        raise ChromiumMissing(
            "headless Chromium is missing: `python -m devtools.setup chromium` installs Debian's chromium and "
            "chromium-driver packages (CI does it in .ci/run)"
        )
    return browser, driver


@contextmanager
def chromium(width: int = 1000, height: int = 900) -> Iterator[Any]:
    """A Selenium WebDriver on a fresh headless Chromium profile, closed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = chromium_paths()
    with tempfile.TemporaryDirectory(prefix="cercle-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (*CHROMIUM_FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        try:
            driver.set_page_load_timeout(60)
            yield driver
        finally:
            driver.quit()


def as_phone(driver: Any, width: int = 390, height: int = 844) -> None:
    """Emulate a phone's screen (a desktop window cannot be made that narrow): width, touch, mobile viewport."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )


def full_page_png(driver: Any) -> bytes:
    """The whole page (not only the window), as PNG."""
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    return base64.b64decode(shot["data"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """The app on a real HTTP server on loopback (its lifespan off: no broker), yielding its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, name="dashboard-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard's HTTP server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- a believable community ------------------------------------------------------------------------------------

START = datetime(2025, 9, 10, 17, 30, tzinfo=UTC)
ATTENDANCE = [(14, 3), (12, 4), (15, 2), (11, 5), (13, 3), (16, 2), (12, 3), (14, 2), (15, 1), (13, 2)]


def demo_events(community_id: str, region: str = "13") -> list[Any]:
    """A Laval community of 18 members with ten sessions held over a year and their attendance, oldest first."""
    from cercle_shared.contracts import registration as reg
    from cercle_shared.contracts import sessions as ses

    events: list[Any] = [
        reg.CommunityCreated(
            community_id=community_id,
            name_fr="Nature et santé mentale — Laval",
            name_en="Nature and Mental Health — Laval",
            kind="community_of_practice",
            regions=[region],
            cadence=6,
            status="active",
            created_at=START - timedelta(days=30),
        )
    ]
    for n in range(18):
        joined = START - timedelta(days=20) + timedelta(days=12 * (n % 6))
        events.append(
            reg.MembershipJoined(
                membership_id=f"{community_id}-ms-{n}",
                community_id=community_id,
                member_id=f"{community_id}-m-{n}",
                role="facilitator" if n == 0 else "participant",
                joined_at=joined,
            )
        )
    for i, (present, absent) in enumerate(ATTENDANCE):
        at = START + timedelta(days=38 * i)
        session_id = f"{community_id}-s-{i}"
        events += [
            ses.SessionScheduled(
                session_id=session_id,
                community_id=community_id,
                title=f"Rencontre {i + 1}",
                starts_at=at,
                ends_at=at + timedelta(hours=2),
                mode="hybrid",
                capacity=20,
            ),
            ses.SessionHeld(session_id=session_id, community_id=community_id, starts_at=at, held_at=at),
            ses.SessionAttendanceRecorded(
                session_id=session_id,
                community_id=community_id,
                confirmed=present + absent,
                present=present,
                absent=absent,
                recorded_at=at + timedelta(hours=3),
            ),
        ]
    return events


# How far each of eight members' plans went on the road from idea to action.
PLAN_STEPS = [
    ["follow_up_planned", "allies_found", "pitched_to_management", "deployed"],
    ["follow_up_planned", "allies_found", "pitched_to_management", "deployed"],
    ["follow_up_planned", "allies_found", "pitched_to_management"],
    ["follow_up_planned", "allies_found"],
    ["follow_up_planned", "allies_found"],
    ["follow_up_planned"],
    ["follow_up_planned"],
    [],
]


def demo_action_plans(api: Any, community_id: str, auth: Any) -> None:
    """Eight members open a plan from the last session and move it along, through insights' own API."""
    session_id = f"{community_id}-s-{len(ATTENDANCE) - 1}"
    for n, steps in enumerate(PLAN_STEPS):
        member = auth("member", member_id=f"{community_id}-m-{n}")
        plan = api.post("/v1/action-plans", headers=member, json={"title": f"Idée {n + 1}", "session_id": session_id})
        plan.raise_for_status()
        for step in steps:
            extra = {"follow_up_on": plan.json()["opened_at"][:10], "follow_up_with": "manager"}
            body = {"step": step, **(extra if step == "follow_up_planned" else {})}
            plan = api.post(
                f"/v1/action-plans/{plan.json()['id']}/steps",
                headers={**member, "If-Match": plan.headers["ETag"]},
                json=body,
            )
            plan.raise_for_status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.screenshot_dashboard", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "images" / "dashboard.png"))
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--lang", choices=("fr", "en"), default="fr")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO_ROOT))
    import httpx

    from tests.support.harness import ServiceHarness, migrated_sqlite
    from tests.support.services import auth

    with tempfile.TemporaryDirectory(prefix="cercle-dashboard-") as tmp:
        h = ServiceHarness("insights", migrated_sqlite("insights", Path(tmp), Path(tmp)))
        h.clock.now = START + timedelta(days=380)
        community = "demo-laval"
        for event in demo_events(community):
            h.publish(event)
        demo_action_plans(h.api, community, auth)
        with serve(h.app) as base, chromium(args.width, 900) as browser:
            link = httpx.post(
                f"{base}/v1/dashboard-links",
                json={"community_id": community, "lang": args.lang},
                headers=auth("coordinator", regions=["13"]),
            )
            link.raise_for_status()
            browser.get(link.json()["url"])
            png = full_page_png(browser)
        h.runtime.engine.dispose()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(png)
    print(f"wrote {args.out} ({len(png)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

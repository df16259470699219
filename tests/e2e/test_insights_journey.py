"""A community's year in small, on the running stack (four service processes, Kafka, a real SMTP server): members
attend a session, those present answer the feedback survey through the link emailed to them, three of them open
action plans and move them along the road, and the coordinator's dashboard shows it all in a real Chromium."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
import pytest

from devtools import screenshot_dashboard as shot
from devtools.smtp import read_messages
from devtools.stack import Stack
from devtools.wait import wait_until
from tests.support.replicas import wait_for_members_in_sessions

# Four processes and a broker started on a busy machine, a session that must have begun, emails: more than the
# default bound per test.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

MEMBERS = 6  # five present (the fewest answers a survey shows), one absent
STARTS_IN = timedelta(seconds=40)
ANSWER_LINK = re.compile(r"https?://[^\s<>\"]+/v1/survey-answers/[A-Za-z0-9._~%-]+")


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """The stack on SQLite; feedback surveys go out as soon as a session is held, the survey job runs every second."""
    stack = Stack.on_free_ports(
        tmp_path_factory.mktemp("stack-insights"),
        extra_env={
            "CERCLE_SURVEY_FEEDBACK_DELAY_HOURS": "0",
            "CERCLE_SURVEY_JOB_INTERVAL": "1",
            "CERCLE_TIMED_POLL_INTERVAL": "1",
            "CERCLE_HOUSEKEEPING_INTERVAL": "5",
        },
    )
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="module")
def browser_paths():
    """A missing browser fails the journey (CI installs it: `python -m devtools.setup chromium`)."""
    try:
        return shot.chromium_paths()
    except shot.ChromiumMissing as exc:
        pytest.fail(str(exc))


def mail_to(stack: Stack, email: str) -> list[EmailMessage]:
    return [m for m in read_messages(stack.base / "mail") if email in str(m["To"]).lower()]


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain", "html"))
    return body.get_content() if body is not None else ""


@pytest.fixture(scope="module")
def community(api):
    coordinator = api.auth("coordinator", regions=["13"])
    suffix = uuid.uuid4().hex[:6]
    created = api.registration.post(
        "/v1/communities",
        headers=coordinator,
        json={"name_fr": f"CoP Santé Laval {suffix}", "name_en": f"Laval Health CoP {suffix}", "regions": ["13"]},
    )
    assert created.status_code == 201, created.text
    community_id = created.json()["id"]
    members = []
    for n in range(MEMBERS):
        email = f"membre{n}.insights.{suffix}@example.org"
        member = api.registration.post(
            "/v1/members",
            headers=api.auth("operator"),
            json={
                "display_name": f"Membre {n} {suffix}",
                "email": email,
                "region": "13",
                "consents": {"processing": True, "email": True, "surveys": True},
            },
        )
        assert member.status_code == 201, member.text
        member_id = member.json()["id"]
        joined = api.registration.post(
            f"/v1/communities/{community_id}/memberships", headers=api.auth("operator"), json={"member_id": member_id}
        )
        assert joined.status_code == 201, joined.text
        members.append({"id": member_id, "email": email, "auth": api.auth("member", member_id=member_id)})
    return {"id": community_id, "name_fr": f"CoP Santé Laval {suffix}", "members": members, "coordinator": coordinator}


def test_members_attend_a_session(community, api):
    facilitator = api.auth("facilitator", communities=[community["id"]])
    # Every member registers before the session starts: wait until sessions knows each membership (an event of its
    # own) before the start is set.
    wait_for_members_in_sessions(
        api.sessions,
        community["id"],
        [m["id"] for m in community["members"]],
        lambda m: api.auth("member", member_id=m),
    )
    starts = (datetime.now(UTC) + STARTS_IN).replace(microsecond=0)
    session = api.eventually(
        lambda: api.sessions.post(
            f"/v1/communities/{community['id']}/sessions",
            headers=facilitator,
            json={
                "title": "Pauses actives et santé mentale",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
                "mode": "in_person",
                "location": "Maison du citoyen, Laval",
                "capacity": 20,
            },
        ),
        lambda r: r.status_code == 201,
        message="sessions to learn about the community",
    ).json()
    registrations = []
    for member in community["members"]:
        registered = api.eventually(
            lambda member=member: api.sessions.post(
                f"/v1/sessions/{session['id']}/registrations", headers=member["auth"], json={}
            ),
            lambda r: r.status_code == 201,
            message="sessions to learn about the memberships",
        )
        registrations.append(registered.json()["id"])
    time.sleep(max(0.0, (starts - datetime.now(UTC)).total_seconds()) + 1)  # attendance is taken once it started

    marks = [{"registration_id": r, "present": n < MEMBERS - 1} for n, r in enumerate(registrations)]
    recorded = api.sessions.put(
        f"/v1/sessions/{session['id']}/attendance", headers=facilitator, json={"records": marks}
    )
    assert recorded.status_code == 200, recorded.text
    held = api.sessions.post(f"/v1/sessions/{session['id']}/held", headers=facilitator)
    assert held.status_code == 200, held.text
    community["session"] = session["id"]

    stats = api.eventually(
        lambda: api.insights.get(f"/v1/communities/{community['id']}/stats", headers=community["coordinator"]),
        lambda r: r.status_code == 200 and r.json()["attendance"]["sessions_recorded"] == 1,
        message="insights to count the attendance",
    )
    assert (stats.json()["attendance"]["present"], stats.json()["attendance"]["absent"]) == (MEMBERS - 1, 1)


def test_those_present_answer_the_feedback_survey_through_the_emailed_link(community, api, stack):
    present, absent = community["members"][:-1], community["members"][-1]
    for n, member in enumerate(present):

        def invitation(member=member):
            return [m for m in mail_to(stack, member["email"]) if ANSWER_LINK.search(_text(m))]

        try:
            [message, *_] = wait_until(invitation, 180, interval=0.5, message=f"the feedback invitation of member {n}")
        except TimeoutError:
            held = api.notifications.get(
                "/v1/deliveries", params={"member_id": member["id"]}, headers=api.auth("operator")
            )
            raise AssertionError(f"no survey invitation by email; notifications holds: {held.text}") from None
        link = urlsplit(ANSWER_LINK.search(_text(message)).group(0))
        # The link names insights' public address; on this stack insights listens on a port of its own.
        form = api.insights.get(link.path)
        assert form.status_code == 200, form.text
        answered = api.insights.post(
            link.path, data={"usefulness": "5", "will_apply": str(4 + n % 2), "would_recommend": "5"}
        )
        assert answered.status_code == 200, answered.text

    results = api.eventually(
        lambda: api.insights.get(f"/v1/sessions/{community['session']}/feedback", headers=community["coordinator"]),
        lambda r: r.status_code == 200 and r.json()["respondents"] == MEMBERS - 1,
        message="the feedback results",
    ).json()
    # The absent member's email would travel on her own key, maybe behind the others' on another partition: that
    # theirs came says nothing of hers. Insights counts whom it asked (each invitation row is written in the
    # transaction of its message): the five present, not her.
    assert results["invited"] == MEMBERS - 1
    assert not [m for m in mail_to(stack, absent["email"]) if ANSWER_LINK.search(_text(m))]
    usefulness = next(item for item in results["items"] if item["key"] == "usefulness")
    assert usefulness["agree_pct"] == 100.0


def _step(api, member, plan, step: str, **extra):
    response = api.insights.post(
        f"/v1/action-plans/{plan['id']}/steps",
        headers={**member["auth"], "If-Match": f'"{plan["version"]}"'},
        json={"step": step, **extra},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_three_of_them_open_action_plans_and_move_them_along(community, api):
    today = date.today().isoformat()
    owners = community["members"][:3]
    plans = []
    for member, title in zip(owners, ("Pauses actives au bureau", "Marche du midi", "Coin calme"), strict=True):
        opened = api.insights.post(
            "/v1/action-plans", headers=member["auth"], json={"title": title, "session_id": community["session"]}
        )
        assert opened.status_code == 201, opened.text
        plans.append(opened.json())
    follow_up = {"follow_up_on": today, "follow_up_with": "manager"}

    deployed = _step(api, owners[0], plans[0], "follow_up_planned", **follow_up)
    deployed = _step(api, owners[0], deployed, "allies_found")
    deployed = _step(api, owners[0], deployed, "pitched_to_management")
    deployed = _step(api, owners[0], deployed, "deployed")
    assert deployed["current_step"] == "deployed"
    _step(api, owners[1], plans[1], "follow_up_planned", **follow_up)
    _step(api, owners[2], plans[2], "dropped", reason="Pas le bon moment")

    funnel = api.insights.get(
        "/v1/action-plans/funnel", params={"community_id": community["id"]}, headers=community["coordinator"]
    )
    assert funnel.status_code == 200, funnel.text
    body = funnel.json()["total"]
    assert (body["ideas"], body["followed_up"], body["pitched"], body["deployed"], body["dropped"]) == (3, 2, 1, 1, 1)


def test_the_dashboard_shows_the_results_in_chromium(community, api, browser_paths, tmp_path):
    from selenium.webdriver.common.by import By

    # The page is read once: first let insights hold every membership and the session held, each an event of its
    # own (the attendance the first test waited for, and the plans, say nothing of them).
    api.eventually(
        lambda: api.insights.get(f"/v1/communities/{community['id']}/stats", headers=community["coordinator"]),
        lambda r: (
            r.status_code == 200 and (r.json()["members"]["active"], r.json()["sessions"]["held"]) == (MEMBERS, 1)
        ),
        message="insights to count every member and the session held",
    )
    link = api.insights.post(
        "/v1/dashboard-links", headers=community["coordinator"], json={"community_id": community["id"]}
    )
    assert link.status_code == 201, link.text
    page_url = link.json()["url"]  # insights' own address: the request came to it
    assert page_url.startswith(api.stack.services["insights"].url)
    assert httpx.get(page_url, timeout=15).headers["cache-control"] == "no-store"

    with shot.chromium() as driver:
        driver.get(page_url)

        assert driver.find_element(By.TAG_NAME, "h1").text == community["name_fr"]

        def headline(key: str) -> str:
            return driver.find_element(By.CSS_SELECTOR, f'.headline[data-key="{key}"] dd').text

        assert headline("members.active") == str(MEMBERS)
        assert headline("sessions.held") == "1"
        assert headline("attendance.rate") == "83,3 %"  # five of six
        assert headline("funnel.deployed") == "1 / 3"
        for chart, title in (("attendance", "Présence au fil du temps"), ("funnel", "De l'idée à l'action")):
            svg = driver.find_element(By.CSS_SELECTOR, f'figure[data-chart="{chart}"] svg')
            assert svg.find_element(By.CSS_SELECTOR, "title").get_attribute("textContent") == title
            assert svg.size["width"] > 300
        caption = driver.find_element(By.CSS_SELECTOR, 'figure[data-chart="funnel"] figcaption').text
        assert "Déployé 1" in caption
        assert "Idées (plans ouverts) 3" in caption
        (tmp_path / "dashboard-journey.png").write_bytes(shot.full_page_png(driver))

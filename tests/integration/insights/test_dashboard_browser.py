"""The dashboard in a real headless Chromium (Debian's, driven through its chromium-driver): insights consumes a
year of a community from the real broker into PostgreSQL, serves its page over real HTTP on loopback, and a
browser that followed a signed link shows the key numbers and the charts, on a phone's width too."""

from __future__ import annotations

import uuid

import httpx
import pytest
from kafka import KafkaProducer

from cercle_shared.contracts import CATALOG
from cercle_shared.messaging import Envelope
from devtools import screenshot_dashboard as shot
from devtools.wait import wait_until
from tests.support.services import auth, running_service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def browser_paths():
    """A missing browser is a failure, not a skip: CI installs it (`python -m devtools.setup chromium`)."""
    try:
        return shot.chromium_paths()
    except shot.ChromiumMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture
def insights_http(kafka, new_database):
    """Insights with its lifespan (consuming the broker, on PostgreSQL), also served on a loopback port."""
    with (
        running_service("insights", new_database("insights"), kafka.bootstrap, caught_up=True) as api,
        shot.serve(api.app) as base,
    ):
        yield api, base


def _publish_demo(kafka, community: str) -> None:
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    try:
        for event in shot.demo_events(community):
            source = "/cercle/sessions" if type(event).__module__.endswith("sessions") else "/cercle/registration"
            key, value, headers = Envelope.wrap(event, source=source).to_kafka()
            topic = CATALOG.for_event(event).topic.name
            producer.send(topic, key=key, value=value, headers=[(k, v.encode()) for k, v in headers.items()]).get(10)
    finally:
        producer.close()


def _projected(api, community: str) -> None:
    def done():
        response = api.get(f"/v1/communities/{community}/stats", headers=auth("operator"))
        body = response.json()
        return (
            response.status_code == 200
            and body["attendance"]["sessions_recorded"] == 10
            and body["members"]["active"] == 18
        )

    wait_until(done, timeout=90, interval=0.3, message="the demo community in insights' stats")


def _headline(driver, key: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'.headline[data-key="{key}"] dd').text


def test_a_coordinator_opens_the_dashboard_link_in_chromium_and_sees_the_numbers_and_charts(
    kafka, insights_http, browser_paths, tmp_path
):
    from selenium.webdriver.common.by import By

    api, base = insights_http
    community = f"browser-{uuid.uuid4().hex[:8]}"
    _publish_demo(kafka, community)
    _projected(api, community)
    link = httpx.post(
        f"{base}/v1/dashboard-links", json={"community_id": community}, headers=auth("coordinator", regions=["13"])
    )
    assert link.status_code == 201, link.text

    with shot.chromium(width=1000, height=900) as driver:
        driver.get(link.json()["url"])

        assert driver.find_element(By.TAG_NAME, "h1").text == "Nature et santé mentale — Laval"
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
        assert _headline(driver, "members.active") == "18"
        assert _headline(driver, "sessions.held") == "10"
        assert _headline(driver, "attendance.rate") == "83,3 %"  # 135 present of 162
        chart = driver.find_element(By.CSS_SELECTOR, 'figure[data-chart="attendance"] svg')
        assert chart.size["width"] > 300
        assert chart.size["height"] > 100  # drawn, not an empty box
        assert chart.get_attribute("role") == "img"
        title = chart.find_element(By.CSS_SELECTOR, "title").get_attribute("textContent")
        assert title == "Présence au fil du temps"
        assert len(chart.find_elements(By.CSS_SELECTOR, "path")) > 10  # axes, ticks and the line itself
        assert driver.execute_script("return document.scripts.length") == 0
        (tmp_path / "dashboard.png").write_bytes(shot.full_page_png(driver))

        driver.find_element(By.LINK_TEXT, "EN").click()  # the language switch keeps the signed link

        assert driver.find_element(By.TAG_NAME, "h1").text == "Nature and Mental Health — Laval"
        assert _headline(driver, "attendance.rate") == "83.3%"
        labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".headline dt")]
        assert "Active members" in labels


def test_the_dashboard_fits_a_phone_screen(kafka, insights_http, browser_paths):
    from selenium.webdriver.common.by import By

    api, base = insights_http
    community = f"phone-{uuid.uuid4().hex[:8]}"
    _publish_demo(kafka, community)
    _projected(api, community)
    url = httpx.post(f"{base}/v1/dashboard-links", json={"community_id": community}, headers=auth("operator")).json()

    with shot.chromium() as driver:
        shot.as_phone(driver, 390, 844)
        driver.get(url["url"])

        assert driver.execute_script("return window.innerWidth") == 390
        assert _headline(driver, "members.active") == "18"
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a phone's screen"
        chart = driver.find_element(By.CSS_SELECTOR, 'figure[data-chart="attendance"] svg')
        assert 300 <= chart.size["width"] <= 390


def test_the_browser_without_a_link_is_refused(insights_http, browser_paths):
    from selenium.webdriver.common.by import By

    _api, base = insights_http
    with shot.chromium() as driver:
        driver.get(f"{base}/dashboard/regions/13")
        assert "401" in driver.find_element(By.TAG_NAME, "body").text

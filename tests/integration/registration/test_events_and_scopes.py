"""Registration on real PostgreSQL and the real broker: every event, the erasure tombstone, scopes."""

import json
import uuid

import pytest

from cercle_shared.contracts import CATALOG, topics
from cercle_shared.contracts.base import Visibility
from tests.support.kafka_reader import TopicReader
from tests.support.services import auth, running_service

pytestmark = pytest.mark.integration

OPERATOR = auth("operator")
REGISTRATION_TOPICS = [t.name for t in topics.DOMAIN_TOPICS if t.name.startswith("cercle.registration.")]


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def test_every_use_case_publishes_its_event_and_erasure_ends_with_a_contact_tombstone(kafka, pg_url):
    tag, secret = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]  # secret: only in the member's name and email
    name, email = f"Geneviève Zzyzx{secret}", f"genevieve.{secret}@example.org"
    with (
        running_service("registration", pg_url, kafka.bootstrap) as api,
        TopicReader(kafka.bootstrap, *REGISTRATION_TOPICS) as reader,
    ):
        org = ok(api.post("/v1/organizations", json={"name": f"Org {tag}", "region": "06"}, headers=OPERATOR), 201)
        ok(api.patch(f"/v1/organizations/{org['id']}", json={"sector": "santé", "version": 1}, headers=OPERATOR))
        spare = ok(api.post("/v1/organizations", json={"name": f"Spare {tag}"}, headers=OPERATOR), 201)
        ok(api.delete(f"/v1/organizations/{spare['id']}", headers=OPERATOR), 204)
        member = ok(
            api.post(
                "/v1/members",
                json={
                    "display_name": name,
                    "email": email,
                    "region": "06",
                    "organization_id": org["id"],
                    "expertise": ["ergonomie"],
                    "consents": {"processing": True},
                },
                headers=OPERATOR,
            ),
            201,
        )
        me = auth("member", member_id=member["id"])
        ok(api.post("/v1/auth/links", json={"email": email}), 202)  # sign-in link: on its internal topic
        ok(api.patch("/v1/members/me", json={"expertise": ["ergonomie", "sst"], "version": 1}, headers=me))
        ok(api.patch("/v1/members/me", json={"consents": {"directory": True}, "version": 2}, headers=me))
        community = ok(
            api.post(
                "/v1/communities",
                json={"name_fr": f"CoP {tag}", "name_en": f"CoP {tag}", "regions": ["06"]},
                headers=OPERATOR,
            ),
            201,
        )
        base = f"/v1/communities/{community['id']}"
        ok(api.patch(base, json={"cadence": 8, "version": 1}, headers=OPERATOR))
        ok(api.post(f"{base}/memberships", json={"member_id": member["id"]}, headers=me), 201)
        ok(
            api.patch(
                f"{base}/memberships/{member['id']}", json={"role": "facilitator", "version": 1}, headers=OPERATOR
            )
        )
        ok(api.delete(f"{base}/memberships/{member['id']}", headers=me))
        ok(api.post(f"{base}/status", json={"status": "closed", "version": 2}, headers=OPERATOR))

        def contacts_published(records):
            return len([r for r in records if r.key == member["id"] and r.topic == topics.MEMBER_CONTACTS.name]) >= 2

        # An erasure supersedes the contact changes the relay has not sent yet (the tombstone clears them from the
        # outbox): wait for them, so that the topic shows both her contact data and the tombstone that ends it.
        reader.wait_for(contacts_published, timeout=60, message="her contact changes, before the erasure")
        ok(api.delete(f"/v1/members/{member['id']}", headers=me), 204)

        ours = {member["id"], org["id"], spare["id"], community["id"]}
        wanted = {spec.type for spec in CATALOG if spec.type.startswith("org.cercle.registration.")}

        def done(records):
            mine = [r for r in records if r.key in ours]
            tombstone = any(r.value is None and r.topic == topics.MEMBER_CONTACTS.name for r in mine)
            return mine if tombstone and wanted <= {r.type for r in mine} else None

        mine = reader.wait_for(done, timeout=60, message="every registration event and the tombstone")

    missing = wanted - {r.type for r in mine}
    assert not missing
    for record in mine:
        if record.value is None:
            continue
        spec = CATALOG.by_type(record.type)
        assert record.topic == spec.topic.name
        assert record.key == spec.key_of(spec.model(**record.envelope.data))
        if spec.topic.visibility is Visibility.PARTNER:
            payload = record.value.decode().lower()
            assert secret not in payload, record.type
            assert "zzyzx" not in payload, record.type
            assert "email" not in record.envelope.data
            assert "display_name" not in record.envelope.data

    contacts = [r for r in mine if r.topic == topics.MEMBER_CONTACTS.name]
    assert contacts[-1].value is None, "the tombstone is the last word on the member's contact data"
    assert all(r.value is not None for r in contacts[:-1])
    assert len(contacts) >= 3
    assert json.loads(contacts[0].value)["email"] == email
    erased = [r for r in mine if r.type == "org.cercle.registration.member.erased.v1"]
    assert erased[0].key == member["id"]
    assert erased[0].topic == topics.MEMBERS.name


def test_a_coordinator_of_06_can_neither_read_nor_change_members_of_03(kafka, pg_url):
    coord_06 = auth("coordinator", regions=["06"])
    with running_service("registration", pg_url, kafka.bootstrap) as api:
        in_03 = ok(
            api.post(
                "/v1/members",
                json={
                    "display_name": "Québec",
                    "email": "q@example.org",
                    "region": "03",
                    "consents": {"processing": True},
                },
                headers=OPERATOR,
            ),
            201,
        )
        in_06 = ok(
            api.post(
                "/v1/members",
                json={
                    "display_name": "Montréal",
                    "email": "m@example.org",
                    "region": "06",
                    "consents": {"processing": True},
                },
                headers=coord_06,
            ),
            201,
        )
        path = f"/v1/members/{in_03['id']}"
        assert api.get(path, headers=coord_06).status_code == 403
        assert api.patch(path, json={"job_title": "x", "version": 1}, headers=coord_06).status_code == 403
        assert api.delete(path, headers=coord_06).status_code == 403
        assert api.get(f"{path}/export", headers=coord_06).status_code == 403
        assert api.get(f"{path}/memberships", headers=coord_06).status_code == 403
        assert api.get("/v1/members?region=03", headers=coord_06).status_code == 403
        assert [m["id"] for m in ok(api.get("/v1/members", headers=coord_06))["items"]] == [in_06["id"]]
        assert "q@example.org" not in api.get("/v1/members/export", headers=coord_06).text
        unchanged = ok(api.get(path, headers=OPERATOR))
        assert unchanged["version"] == 1
        assert unchanged["job_title"] is None


def test_json_filters_and_all_or_nothing_import_on_postgresql(kafka, pg_url):
    with running_service("registration", pg_url, kafka.bootstrap) as api:
        community = ok(
            api.post(
                "/v1/communities", json={"name_fr": "CoP", "name_en": "CoP", "regions": ["06", "13"]}, headers=OPERATOR
            ),
            201,
        )
        header = "email,display_name,consent_processing,consent_directory,region,expertise,communities\n"
        good = (
            f"a@example.org,Alice,yes,yes,06,ergonomie|sst,{community['id']}\n"
            f"b@example.org,Bruno,yes,no,13,ergonomie,{community['id']}\n"
        )
        refused = api.post(
            "/v1/members/import",
            content=header + good + "a@example.org,Alice,yes,no,06,,\n",
            headers={**OPERATOR, "Content-Type": "text/csv"},
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["row"] == 4
        assert ok(api.get("/v1/members", headers=OPERATOR))["items"] == []
        ok(api.post("/v1/members/import", content=header + good, headers={**OPERATOR, "Content-Type": "text/csv"}), 201)

        sst = ok(api.get("/v1/members?expertise=sst", headers=OPERATOR))["items"]
        assert [m["display_name"] for m in sst] == ["Alice"]
        assert len(ok(api.get(f"/v1/members?community_id={community['id']}", headers=OPERATOR))["items"]) == 2
        assert [c["id"] for c in ok(api.get("/v1/communities?region=13", headers=OPERATOR))["items"]] == [
            community["id"]
        ]
        bruno = next(m for m in ok(api.get("/v1/members", headers=OPERATOR))["items"] if m["display_name"] == "Bruno")
        directory = ok(
            api.get(f"/v1/communities/{community['id']}/directory", headers=auth("member", member_id=bruno["id"]))
        )["items"]
        assert [e["display_name"] for e in directory] == ["Alice"]
        assert (
            ok(
                api.get(
                    f"/v1/communities/{community['id']}/directory?expertise=ergonomie",
                    headers=auth("member", member_id=bruno["id"]),
                )
            )["items"][0]["display_name"]
            == "Alice"
        )

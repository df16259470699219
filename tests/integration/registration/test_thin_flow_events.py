import pytest

from cercle_shared.contracts import topics
from tests.support.kafka_reader import TopicReader
from tests.support.services import auth, running_service

pytestmark = pytest.mark.integration


def test_member_community_and_membership_are_published_as_cloudevents(kafka, pg_url):
    with (
        running_service("registration", pg_url, kafka.bootstrap) as api,
        TopicReader(
            kafka.bootstrap,
            topics.MEMBERS.name,
            topics.MEMBER_CONTACTS.name,
            topics.COMMUNITIES.name,
            topics.MEMBERSHIPS.name,
        ) as reader,
    ):
        member = api.post(
            "/v1/members",
            json={
                "display_name": "Marie Tremblay",
                "email": "marie@example.org",
                "region": "13",
                "consents": {"processing": True},
            },
            headers=auth("operator"),
        ).json()
        community = api.post(
            "/v1/communities",
            json={"name_fr": "CoP Laval", "name_en": "Laval CoP", "regions": ["13"]},
            headers=auth("coordinator", regions=["13"]),
        ).json()
        joined = api.post(
            f"/v1/communities/{community['id']}/memberships",
            json={"member_id": member["id"]},
            headers=auth("member", member_id=member["id"]),
        )
        assert joined.status_code == 201

        wanted = {
            "org.cercle.registration.member.registered.v1",
            "org.cercle.registration.member.contact_changed.v1",
            "org.cercle.registration.community.created.v1",
            "org.cercle.registration.membership.joined.v1",
        }
        ours = {member["id"], community["id"]}  # the broker is shared with the other tests of the run

        def mine(rs):
            return [r for r in rs if r.key in ours]

        records = reader.wait_for(
            lambda rs: wanted <= {r.type for r in mine(rs)} and mine(rs), timeout=60, message="the four events"
        )
        by_type = {r.type: r for r in records}
        registered = by_type["org.cercle.registration.member.registered.v1"]
        assert registered.topic == topics.MEMBERS.name
        assert registered.key == member["id"]
        envelope = registered.envelope
        assert envelope.source == "/cercle/registration"
        assert envelope.data["member_id"] == member["id"]
        assert "marie" not in registered.value.decode().lower()  # partner-visible: no name, no email
        contact = by_type["org.cercle.registration.member.contact_changed.v1"]
        assert contact.topic == topics.MEMBER_CONTACTS.name
        assert contact.envelope.data["email"] == "marie@example.org"
        assert by_type["org.cercle.registration.membership.joined.v1"].key == community["id"]

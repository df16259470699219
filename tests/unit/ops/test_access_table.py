"""The broker's ACL table matches what each service really publishes and consumes, and keeps secrets in."""

from __future__ import annotations

import importlib

import pytest

from cercle_ops import broker
from cercle_shared.contracts import CATALOG, access, topics
from cercle_shared.contracts.base import Visibility

SERVICES = topics.SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_reads_exactly_the_topics_its_consumer_subscribes_to(service):
    consumers = importlib.import_module(f"cercle_{service}.entrypoints.consumers")
    assert access.read_topics(service) == set(consumers.subscriptions().topics())


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_writes_the_topics_of_its_own_events_and_its_dead_letter_topic(service):
    own = {spec.topic.name for spec in CATALOG if spec.type.split(".")[2] == service}
    assert access.written_topics(service) == own | {f"cercle.deadletter.{service}"}


def test_every_topic_has_exactly_one_writer():
    writers: dict[str, list[str]] = {}
    for service in SERVICES:
        for topic in access.written_topics(service):
            writers.setdefault(topic, []).append(service)
    assert {t.name for t in topics.ALL_TOPICS} == set(writers)
    assert all(len(w) == 1 for w in writers.values()), writers


def test_topics_with_personal_data_are_read_only_by_the_services_named_here():
    readers = {t: {s for s in SERVICES if t in access.read_topics(s)} for t in access.RESTRICTED_TOPICS}
    assert readers == {
        topics.MEMBER_CONTACTS.name: {"sessions", "notifications"},
        topics.SIGN_IN_LINKS.name: {"notifications"},
        topics.BALLOTS.name: {"notifications"},
        topics.INSIGHTS_MEMBER_MESSAGES.name: {"notifications"},
    }


def test_a_service_consumes_in_its_own_group_only():
    for service in SERVICES:
        groups = {g.name for g in access.service_grants(service) if g.resource is access.Resource.GROUP}
        assert groups == ({f"cercle-{service}"} if access.read_topics(service) else set())
    assert {g.name for g in access.service_grants("sessions", "region-13-sessions") if g.resource == "GROUP"} == {
        "region-13-sessions"
    }


def test_a_service_is_never_granted_more_than_read_and_write_on_literal_names():
    for grant in access.all_service_grants():
        assert grant.pattern is access.Pattern.LITERAL
        assert grant.operation in (access.Operation.READ, access.Operation.WRITE)
        assert grant.principal.startswith("User:cercle-")
        assert grant.principal != f"User:{access.ADMIN_USER}"


def test_a_partner_reads_partner_visible_topics_only_with_groups_under_its_prefix():
    grants = access.partner_grants("acme")
    topics_read = {g.name for g in grants if g.resource is access.Resource.TOPIC}
    assert topics_read == {t.name for t in topics.ALL_TOPICS if t.visibility is Visibility.PARTNER}
    assert topics_read.isdisjoint(access.RESTRICTED_TOPICS | {topics.DELIVERIES.name})
    assert all(g.operation is access.Operation.READ and g.principal == "User:partner-acme" for g in grants)
    [group] = [g for g in grants if g.resource is access.Resource.GROUP]
    assert (group.name, group.pattern) == ("partner.acme.", access.Pattern.PREFIXED)


@pytest.mark.parametrize("org", ["", "Acme", "acme corp", "a*", "../x", "x" * 64, "acme.", "-acme"])
def test_a_partner_name_that_could_widen_a_prefix_or_a_principal_is_refused(org):
    with pytest.raises(ValueError):
        access.partner_user(org)


def test_a_grant_round_trips_through_a_kafka_acl():
    for grant in access.all_service_grants() + access.partner_grants("acme"):
        assert broker.from_acl(broker.to_acl(grant)) == grant


def test_service_passwords_come_from_one_variable_each_and_a_missing_one_is_named():
    env = {f"CERCLE_KAFKA_PASSWORD_{s.upper()}": f"pw-{s}" for s in SERVICES}
    assert broker.service_passwords_from_env(env) == {s: f"pw-{s}" for s in SERVICES}
    del env["CERCLE_KAFKA_PASSWORD_INSIGHTS"]
    with pytest.raises(ValueError, match="CERCLE_KAFKA_PASSWORD_INSIGHTS"):
        broker.service_passwords_from_env(env)

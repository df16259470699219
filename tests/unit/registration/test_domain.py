from datetime import UTC, datetime

import pytest

from cercle_registration.domain import model
from cercle_registration.domain.regions import RegionCatalog
from cercle_shared.errors import Conflict, InvalidInput, NotFound


def a_member(**overrides) -> model.Member:
    fields = {"display_name": "Marie Tremblay", "email": "Marie.Tremblay@Example.ORG", "consents": {"processing": True}}
    fields.update(overrides)
    return model.Member.register(**fields)


def a_community(**overrides) -> model.Community:
    fields = {
        "id": model.new_id(),
        "name_fr": "CoP",
        "name_en": "CoP",
        "kind": "community_of_practice",
        "regions": ["06"],
    }
    fields.update(overrides)
    return model.Community(**fields)


def test_email_is_stored_lower_cased_so_uniqueness_ignores_case():
    assert a_member().email == "marie.tremblay@example.org"


@pytest.mark.parametrize("email", ["not-an-email", "marie@", "@example.org", "marie tremblay@example.org"])
def test_an_invalid_email_is_refused_naming_the_field(email):
    with pytest.raises(InvalidInput) as refused:
        a_member(email=email)
    assert refused.value.field == "email"


def test_registering_requires_consent_to_processing():
    with pytest.raises(InvalidInput) as refused:
        a_member(consents={"processing": False, "email": True})
    assert refused.value.field == "consents.processing"


def test_language_defaults_to_french_and_must_be_fr_or_en():
    assert a_member().language == "fr"
    with pytest.raises(InvalidInput):
        a_member(language="es")


def test_registration_records_every_purpose_in_the_consent_history():
    member = a_member(consents={"processing": True, "directory": True})
    assert member.consents == {"processing": True, "directory": True, "email": False, "surveys": False}
    assert [(c.purpose, c.granted) for c in member.consent_history] == [
        ("processing", True),
        ("directory", True),
        ("email", False),
        ("surveys", False),
    ]


def test_giving_then_withdrawing_a_consent_appends_to_the_history_with_its_time():
    member = a_member()
    given, withdrawn = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    assert member.set_consent("surveys", True, given) is not None
    assert member.set_consent("surveys", True, given) is None  # unchanged: nothing recorded
    member.set_consent("surveys", False, withdrawn)
    surveys = [(c.granted, c.changed_at) for c in member.consent_history if c.purpose == "surveys"]
    assert surveys[1:] == [(True, given), (False, withdrawn)]
    assert member.consents["surveys"] is False
    assert member.consents_changed_at()["surveys"] == withdrawn


def test_consent_to_processing_cannot_be_withdrawn_short_of_erasure():
    with pytest.raises(InvalidInput) as refused:
        a_member().set_consent("processing", False)
    assert refused.value.field == "consents.processing"


def test_expertise_tags_are_trimmed_lower_cased_and_deduplicated():
    assert a_member(expertise=[" Ergonomie", "ergonomie", "Santé mentale", ""]).expertise == [
        "ergonomie",
        "santé mentale",
    ]


def test_update_profile_reports_only_what_changed():
    member = a_member(job_title="CRHA")
    assert member.update_profile(job_title="CRHA", language="en") == {"language"}


def test_a_community_needs_regions_or_province_wide_but_not_both():
    with pytest.raises(InvalidInput):
        a_community(regions=[])
    with pytest.raises(InvalidInput):
        a_community(regions=["06"], province_wide=True)
    assert a_community(regions=[], province_wide=True).province_wide


def test_a_refused_community_update_leaves_it_unchanged():
    community = a_community()
    with pytest.raises(InvalidInput):
        community.update(regions=[], name_fr="Nouveau nom")
    assert (community.regions, community.name_fr) == (["06"], "CoP")


def test_a_closed_community_stays_closed_and_takes_no_new_members():
    community = a_community()
    assert community.change_status("paused") is True
    assert community.change_status("closed") is True
    with pytest.raises(Conflict):
        community.change_status("active")
    with pytest.raises(Conflict):
        model.join(community, a_member(), "participant", None)


def test_a_paused_community_still_takes_members():
    community = a_community(status="paused")
    assert model.join(community, a_member(), "participant", None).active


def test_joining_twice_while_a_member_is_a_conflict():
    community, member = a_community(), a_member()
    current = model.join(community, member, "participant", None)
    with pytest.raises(Conflict):
        model.join(community, member, "participant", current)


def test_leaving_twice_is_a_conflict_and_never_joined_is_not_found():
    membership = model.join(a_community(), a_member(), "participant", None)
    model.leave(membership, ever_joined=True)
    assert membership.left_at is not None
    with pytest.raises(Conflict):
        model.leave(None, ever_joined=True)
    with pytest.raises(NotFound):
        model.leave(None, ever_joined=False)


def test_rejoining_after_leaving_starts_a_new_tenure():
    community, member = a_community(), a_member()
    first = model.join(community, member, "participant", None)
    first.leave()
    second = model.join(community, member, "facilitator", None)
    assert second.id != first.id
    assert second.active
    assert not first.active


def test_role_change_checks_the_role_and_needs_a_current_membership():
    membership = model.join(a_community(), a_member(), "participant", None)
    with pytest.raises(InvalidInput):
        membership.change_role("boss")
    assert membership.change_role("facilitator") is True
    membership.leave()
    with pytest.raises(Conflict):
        membership.change_role("participant")


def test_organization_size_band_is_one_of_the_bands():
    with pytest.raises(InvalidInput) as refused:
        model.Organization.create(name="CISSS de Laval", size_band="huge")
    assert refused.value.field == "size_band"


def test_region_catalog_serves_all_17_by_default_or_only_those_enabled():
    assert len(RegionCatalog.from_setting("").all()) == 17
    enabled = RegionCatalog.from_setting("06, 13")
    assert [r.code for r in enabled.all()] == ["06", "13"]
    assert "03" not in enabled
    with pytest.raises(ValueError):
        RegionCatalog.from_setting("06,42")

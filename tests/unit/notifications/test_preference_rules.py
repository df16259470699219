from datetime import UTC, datetime

import pytest

from cercle_notifications.domain import model
from cercle_notifications.domain.model import EmailKind, SkipReason
from cercle_shared.errors import InvalidInput


def contact(language="fr", **consents) -> model.Contact:
    return model.Contact(
        "m-1", "marie@example.org", "Marie", language, {"processing": True, **consents}, datetime.now(UTC)
    )


def test_sends_in_the_profile_language_when_the_member_consented():
    assert model.decide(EmailKind.REGISTRATION_CONFIRMED, contact("en", email=True), None) == model.Decision(True, "en")


def test_a_language_override_wins_over_the_profile():
    prefs = model.Preferences("m-1", language="en")
    assert model.decide(EmailKind.REGISTRATION_CONFIRMED, contact("fr", email=True), prefs).language == "en"


def test_no_email_consent_means_no_email():
    decision = model.decide(EmailKind.REGISTRATION_CONFIRMED, contact(email=False), None)
    assert (decision.send, decision.reason) == (False, SkipReason.NO_EMAIL_CONSENT)


def test_consent_never_recorded_counts_as_refused():
    assert model.decide(EmailKind.REGISTRATION_CONFIRMED, contact(), None).reason == SkipReason.NO_EMAIL_CONSENT


def test_an_opted_out_kind_is_not_sent_but_other_kinds_are():
    prefs = model.Preferences("m-1", opt_out=[EmailKind.REGISTRATION_WAITLISTED])
    assert model.decide(EmailKind.REGISTRATION_WAITLISTED, contact(email=True), prefs).reason == SkipReason.OPTED_OUT
    assert model.decide(EmailKind.REGISTRATION_CONFIRMED, contact(email=True), prefs).send


def test_consent_is_checked_before_preferences():
    prefs = model.Preferences("m-1", opt_out=[EmailKind.REGISTRATION_CONFIRMED])
    assert (
        model.decide(EmailKind.REGISTRATION_CONFIRMED, contact(email=False), prefs).reason
        == SkipReason.NO_EMAIL_CONSENT
    )


def test_an_unknown_profile_language_falls_back_to_french():
    assert model.decide(EmailKind.REGISTRATION_CONFIRMED, contact("de", email=True), None).language == "fr"


def test_preferences_reject_unknown_kinds_and_languages():
    prefs = model.Preferences("m-1")
    with pytest.raises(InvalidInput) as kind_error:
        prefs.change(language=None, opt_out=["newsletter"])
    assert kind_error.value.field == "opt_out"
    with pytest.raises(InvalidInput) as language_error:
        prefs.change(language="de", opt_out=[])
    assert language_error.value.field == "language"


def test_an_older_contact_update_arriving_late_changes_nothing():
    current = contact(email=True)
    older = model.Contact("m-1", "old@example.org", "Old", "en", {}, datetime(2020, 1, 1, tzinfo=UTC))
    assert current.replace_with(older) is False
    assert current.email == "marie@example.org"


def test_retry_delay_doubles_up_to_a_ceiling():
    delays = [model.retry_delay(n, 30, 200).total_seconds() for n in (1, 2, 3, 4)]
    assert delays == [30, 60, 120, 200]

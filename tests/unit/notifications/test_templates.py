from datetime import UTC, datetime

import pytest

from cercle_notifications.adapters.templates import EmailTemplates, preview
from cercle_notifications.domain.model import EmailKind
from cercle_notifications.domain.when import format_span

from .factories import ENDS, STARTS


def context(**overrides):
    values = {
        "display_name": "Marie Tremblay",
        "session_title": "Nature et santé mentale",
        "community_name": "CoP SMET Laval",
        "when": "mardi 3 mars 2026, de 13 h 30 à 16 h (heure de l'Est)",
        "mode": "in_person",
        "location": "Maison du citoyen, Laval",
        "position": None,
        "previous_when": None,
        "reason": None,
    }
    values.update(overrides)
    return values


@pytest.fixture(scope="module")
def templates() -> EmailTemplates:
    return EmailTemplates()


def test_confirmation_in_french_names_the_session_the_time_and_the_place(templates):
    email = templates.render(EmailKind.REGISTRATION_CONFIRMED, "fr", context())
    assert email.subject == "Inscription confirmée : Nature et santé mentale"
    assert email.text.startswith("Bonjour Marie Tremblay,")
    assert "Votre place est confirmée" in email.text
    assert "communauté CoP SMET Laval" in email.text
    assert "Quand : mardi 3 mars 2026, de 13 h 30 à 16 h" in email.text
    assert "Lieu : Maison du citoyen, Laval" in email.text
    assert email.html is not None
    assert 'lang="fr"' in email.html


def test_confirmation_in_english(templates):
    when = "Tuesday, March 3, 2026, 1:30 PM – 4:00 PM (Eastern Time)"
    email = templates.render(EmailKind.REGISTRATION_CONFIRMED, "en", context(when=when))
    assert email.subject == "Registration confirmed: Nature et santé mentale"
    assert email.text.startswith("Hello Marie Tremblay,")
    assert "Your seat is confirmed" in email.text
    assert "When: Tuesday, March 3, 2026, 1:30 PM" in email.text
    assert "Place: Maison du citoyen, Laval" in email.text
    assert "Bonjour" not in email.text


@pytest.mark.parametrize("language", [None, "de", ""])
def test_french_is_the_default_language(templates, language):
    assert templates.render(EmailKind.REGISTRATION_CONFIRMED, language, context()).subject.startswith(
        "Inscription confirmée"
    )


def test_a_virtual_session_gives_the_link(templates):
    fr = templates.render(
        EmailKind.REGISTRATION_CONFIRMED, "fr", context(mode="virtual", location="https://meet.example.org/smet")
    )
    en = templates.render(
        EmailKind.REGISTRATION_CONFIRMED, "en", context(mode="virtual", location="https://meet.example.org/smet")
    )
    assert "Lien : https://meet.example.org/smet" in fr.text
    assert "Link: https://meet.example.org/smet" in en.text


def test_a_missing_place_is_announced_for_later(templates):
    assert (
        "Lieu : il vous sera communiqué avant la rencontre"
        in templates.render(EmailKind.REGISTRATION_CONFIRMED, "fr", context(location=None)).text
    )


def test_waitlist_email_gives_the_position_in_both_languages(templates):
    fr = templates.render(EmailKind.REGISTRATION_WAITLISTED, "fr", context(position=2))
    en = templates.render(EmailKind.REGISTRATION_WAITLISTED, "en", context(position=2))
    assert fr.subject == "Liste d'attente : Nature et santé mentale"
    assert "Vous êtes sur la liste d'attente, en position 2." in fr.text
    assert en.subject == "Waitlist: Nature et santé mentale"
    assert "You are on the waitlist, in position 2." in en.text


def test_every_kind_has_a_subject_and_a_body_in_both_languages(templates):
    for kind in EmailKind:
        for language in ("fr", "en"):
            email = preview(templates, kind, language)  # every variable its templates use, with sample values
            assert email.subject
            assert "\n" not in email.subject
            assert "Marie Tremblay" in email.text


def test_promotion_says_the_seat_is_now_confirmed(templates):
    assert "une place s'est libérée" in templates.render(EmailKind.REGISTRATION_PROMOTED, "fr", context()).text
    assert (
        templates.render(EmailKind.REGISTRATION_PROMOTED, "en", context()).subject
        == "A seat opened up: Nature et santé mentale"
    )


def test_a_rescheduled_session_gives_the_new_and_the_previous_time(templates):
    previous = "lundi 2 mars 2026, de 9 h à 11 h (heure de l'Est)"
    email = templates.render(EmailKind.SESSION_RESCHEDULED, "fr", context(previous_when=previous))
    assert "Quand : mardi 3 mars 2026, de 13 h 30 à 16 h" in email.text
    assert "(Auparavant : lundi 2 mars 2026, de 9 h à 11 h (heure de l'Est))" in email.text
    assert "Previously" not in templates.render(EmailKind.SESSION_RESCHEDULED, "en", context()).text


def test_a_cancelled_session_gives_the_reason_when_there_is_one(templates):
    cancelled = templates.render(EmailKind.SESSION_CANCELLED, "fr", context(reason="Tempête de neige"))
    assert "Motif : Tempête de neige" in cancelled.text
    assert "Reason" not in templates.render(EmailKind.SESSION_CANCELLED, "en", context()).text
    assert (
        templates.render(EmailKind.SESSION_CANCELLED, "en", context()).subject
        == "Session cancelled: Nature et santé mentale"
    )


def test_html_alternative_escapes_what_members_typed(templates):
    email = templates.render(
        EmailKind.REGISTRATION_CONFIRMED, "fr", context(session_title="<script>x</script>", location="<b>salle</b>")
    )
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert "<b>salle</b>" not in email.html
    assert "<script>x</script>" in email.text  # plain text is not HTML


def test_subject_stays_on_one_line_whatever_the_title(templates):
    assert templates.render(EmailKind.REGISTRATION_CONFIRMED, "fr", context(session_title="Deux\nlignes")).subject == (
        "Inscription confirmée : Deux lignes"
    )


def test_time_is_shown_in_the_sessions_time_zone_the_way_each_language_writes_it():
    assert format_span(STARTS, ENDS, "America/Toronto", "fr") == (
        "mardi 3 mars 2026, de 13 h 30 à 16 h (heure de l'Est)"
    )
    assert format_span(STARTS, ENDS, "America/Toronto", "en") == (
        "Tuesday, March 3, 2026, 1:30 PM – 4:00 PM (Eastern Time)"
    )


def test_summer_time_and_other_zones_are_respected():
    start, end = datetime(2026, 7, 1, 13, 0, tzinfo=UTC), datetime(2026, 7, 1, 15, 0, tzinfo=UTC)
    assert format_span(start, end, "America/Toronto", "fr") == (
        "mercredi 1er juillet 2026, de 9 h à 11 h (heure de l'Est)"
    )
    assert format_span(start, end, "America/Vancouver", "en") == (
        "Wednesday, July 1, 2026, 6:00 AM – 8:00 AM (America/Vancouver)"
    )


def test_a_session_over_two_days_shows_both_dates():
    start, end = datetime(2026, 5, 7, 13, 0, tzinfo=UTC), datetime(2026, 5, 8, 20, 0, tzinfo=UTC)
    assert format_span(start, end, "America/Toronto", "fr") == (
        "du jeudi 7 mai 2026, 9 h, au vendredi 8 mai 2026, 16 h (heure de l'Est)"
    )

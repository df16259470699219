"""An email is an address and nothing else; a one-line field holds no control character (issue 8, items 10 and 11).

A display name with CR/LF once made every email to its member fail forever; "<a@example.org>" was stored as an
address. Both are refused at the API (422 naming the field) and, for the import path, in the domain."""

import pytest

from cercle_registration.domain import model
from cercle_shared.errors import InvalidInput

from .conftest import OPERATOR, community_body, member_body

CSV = {**OPERATOR, "Content-Type": "text/csv"}

NOT_AN_ADDRESS = [
    "<a@example.org>",
    "Alice <a@example.org>",
    '"Alice" <a@example.org>',
    "a@example.org, b@example.org",
    "a@example.org\r\nBcc: b@example.org",
    "a@example.org\x00",
]

NOT_ONE_LINE = [
    "Marie\r\nBcc: victim@example.org",
    "Marie\nTremblay",
    "Marie\rTremblay",
    "Marie\tTremblay",
    "Marie\x00",
    "Marie\x1b[31m",
    "Marie\x7f",
    "Marie\u2028Tremblay",
    "Marie\x85Tremblay",
]


def fields_of(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


# --- item 10: an email is an address -----------------------------------------------------------------------------


@pytest.mark.parametrize("email", NOT_AN_ADDRESS)
def test_registering_with_anything_but_a_bare_address_is_a_422_naming_email(api, db, email):
    response = api.post("/v1/members", json=member_body(email), headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert "email" in fields_of(response)
    assert db.count("members") == 0


@pytest.mark.parametrize("email", NOT_AN_ADDRESS)
def test_changing_an_email_to_anything_but_a_bare_address_is_a_422_naming_email(api, register, email):
    member = register()
    response = api.patch(f"/v1/members/{member['id']}", json={"email": email, "version": 1}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert "email" in fields_of(response)
    assert api.get(f"/v1/members/{member['id']}", headers=OPERATOR).json()["email"] == "marie@example.org"


@pytest.mark.parametrize("email", NOT_AN_ADDRESS)
def test_importing_anything_but_a_bare_address_is_refused_on_its_row(api, db, email):
    quoted = '"' + email.replace('"', '""') + '"'
    text = f"email,display_name,consent_processing\nok@example.org,Ok,yes\n{quoted},Alice,yes\n"
    response = api.post("/v1/members/import", content=text.encode(), headers=CSV)
    assert response.status_code == 422, response.text
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(3, "email")]
    assert db.count("members") == 0


@pytest.mark.parametrize("email", NOT_AN_ADDRESS)
def test_the_domain_refuses_anything_but_a_bare_address(email):
    with pytest.raises(InvalidInput) as refused:
        model.normalize_email(email)
    assert refused.value.field == "email"


def test_a_bare_address_is_still_accepted_and_stored_lower_cased(api, register):
    member = register("  Marie.Tremblay@Example.ORG ")
    assert member["email"] == "marie.tremblay@example.org"


# --- item 11: one-line fields hold no control character ----------------------------------------------------------


@pytest.mark.parametrize("value", NOT_ONE_LINE)
@pytest.mark.parametrize("field", ["display_name", "job_title"])
def test_registering_with_a_control_character_in_a_one_line_field_is_a_422_naming_it(api, db, field, value):
    response = api.post("/v1/members", json=member_body(**{field: value}), headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert field in fields_of(response)
    assert db.count("members") == 0


@pytest.mark.parametrize("value", NOT_ONE_LINE)
def test_an_expertise_tag_with_a_control_character_is_a_422_naming_expertise(api, db, value):
    response = api.post("/v1/members", json=member_body(expertise=["sst", value]), headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert any(f.startswith("expertise") for f in fields_of(response)), response.json()
    assert db.count("members") == 0


@pytest.mark.parametrize("field", ["display_name", "job_title", "expertise"])
def test_updating_a_member_with_a_line_break_is_a_422_naming_the_field(api, register, field):
    member = register()
    value = ["Marie\r\nBcc: x@example.org"] if field == "expertise" else "Marie\r\nBcc: x@example.org"
    for path in (f"/v1/members/{member['id']}", "/v1/members/me"):
        headers = OPERATOR if path.endswith(member["id"]) else {**auth_member(member["id"])}
        response = api.patch(path, json={field: value, "version": 1}, headers=headers)
        assert response.status_code == 422, (path, response.text)
        assert any(f.startswith(field) for f in fields_of(response)), response.json()


def auth_member(member_id: str) -> dict[str, str]:
    from tests.support.services import auth

    return auth("member", member_id=member_id)


@pytest.mark.parametrize("field", ["name", "sector"])
def test_an_organization_name_or_sector_with_a_line_break_is_a_422_naming_it(api, db, field):
    body = {"name": "CISSS de Laval", field: "CISSS\r\nde Laval"}
    response = api.post("/v1/organizations", json=body, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert field in fields_of(response)
    created = api.post("/v1/organizations", json={"name": "CISSS"}, headers=OPERATOR).json()
    response = api.patch(f"/v1/organizations/{created['id']}", json={field: "a\nb", "version": 1}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert field in fields_of(response)
    assert db.count("organizations") == 1


@pytest.mark.parametrize("field", ["name_fr", "name_en", "domain"])
def test_a_community_name_or_domain_with_a_line_break_is_a_422_naming_it(api, db, found, field):
    response = api.post("/v1/communities", json=community_body(**{field: "CoP\r\nMontréal"}), headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert field in fields_of(response)
    community = found()
    response = api.patch(f"/v1/communities/{community['id']}", json={field: "a\x00b", "version": 1}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert field in fields_of(response)
    assert db.count("communities") == 1


@pytest.mark.parametrize("field", ["description_fr", "description_en"])
def test_a_description_may_span_lines_but_holds_no_other_control_character(api, found, field):
    created = api.post("/v1/communities", json=community_body(**{field: "Une ligne.\r\nUne autre."}), headers=OPERATOR)
    assert created.status_code == 201, created.text
    assert created.json()[field] == "Une ligne.\r\nUne autre."
    for bad in ("bell\x07", "nul\x00", "escape\x1b[2J"):
        response = api.post("/v1/communities", json=community_body(**{field: bad}), headers=OPERATOR)
        assert response.status_code == 422, response.text
        assert field in fields_of(response)
        response = api.patch(
            f"/v1/communities/{created.json()['id']}", json={field: bad, "version": 1}, headers=OPERATOR
        )
        assert response.status_code == 422, response.text
        assert field in fields_of(response)


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("display_name", '"Alice\r\nBcc: victim@example.org"'),
        ("display_name", '"Alice\nLiddell"'),
        ("display_name", "Alice\x00"),
        ("job_title", '"Chef\r\nde projet"'),
        ("expertise", '"sst|ergo\nnomie"'),
    ],
)
def test_an_import_row_with_a_control_character_in_a_one_line_cell_is_refused_naming_the_column(api, db, column, cell):
    cells = {"email": "a@example.org", "display_name": "Alice", "job_title": "", "expertise": ""}
    cells[column] = cell
    text = (
        "email,display_name,consent_processing,job_title,expertise\n"
        "ok@example.org,Ok,yes,,\n"
        f"{cells['email']},{cells['display_name']},yes,{cells['job_title']},{cells['expertise']}\n"
    )
    for dry_run in ("true", "false"):
        response = api.post(f"/v1/members/import?dry_run={dry_run}", content=text.encode(), headers=CSV)
        assert response.status_code == 422, response.text
        assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(3, column)]
    assert db.count("members") == 0


@pytest.mark.parametrize("value", NOT_ONE_LINE)
def test_the_domain_refuses_control_characters_in_every_one_line_field(value):
    consents = {"processing": True}
    cases = {
        "display_name": lambda: model.Member.register(display_name=value, email="a@example.org", consents=consents),
        "job_title": lambda: model.Member.register(
            display_name="A", email="a@example.org", job_title=value, consents=consents
        ),
        "expertise": lambda: model.Member.register(
            display_name="A", email="a@example.org", expertise=["sst", value], consents=consents
        ),
        "name": lambda: model.Organization.create(name=value),
        "sector": lambda: model.Organization.create(name="Org", sector=value),
        "name_fr": lambda: model.Community.create(
            name_fr=value, name_en="CoP", kind="community_of_practice", regions=["06"]
        ),
        "name_en": lambda: model.Community.create(
            name_fr="CoP", name_en=value, kind="community_of_practice", regions=["06"]
        ),
        "domain": lambda: model.Community.create(
            name_fr="CoP", name_en="CoP", kind="community_of_practice", regions=["06"], domain=value
        ),
    }
    for field, attempt in cases.items():
        with pytest.raises(InvalidInput) as refused:
            attempt()
        assert refused.value.field == field, field


def test_the_domain_refuses_control_characters_in_updates_too():
    member = model.Member.register(display_name="A", email="a@example.org", consents={"processing": True})
    for field in ("display_name", "job_title"):
        with pytest.raises(InvalidInput) as refused:
            member.update({field: "A\r\nB"})
        assert refused.value.field == field
    organization = model.Organization.create(name="Org")
    with pytest.raises(InvalidInput) as refused:
        organization.update(name="Org\nB")
    assert refused.value.field == "name"
    community = model.Community.create(name_fr="CoP", name_en="CoP", kind="community_of_practice", regions=["06"])
    for field in ("name_fr", "name_en", "domain"):
        with pytest.raises(InvalidInput) as refused:
            community.update(**{field: "CoP\nB"})
        assert refused.value.field == field
    assert (community.name_fr, community.name_en, community.domain) == ("CoP", "CoP", None)


@pytest.mark.parametrize("founded_on", ["9999-12-31", "0001-01-01", "1969-12-31", "2201-01-01"])
def test_a_founding_date_outside_1970_2200_is_a_422_naming_it(api, found, founded_on):
    response = api.post("/v1/communities", json=community_body(founded_on=founded_on), headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert "founded_on" in fields_of(response)
    community = found()
    response = api.patch(
        f"/v1/communities/{community['id']}", json={"founded_on": founded_on, "version": 1}, headers=OPERATOR
    )
    assert response.status_code == 422, response.text
    assert "founded_on" in fields_of(response)


@pytest.mark.parametrize("value", ["x\u0000", "x\r\ny"])
def test_an_id_in_a_body_with_a_control_character_is_a_422_naming_it(api, register, found, value):
    """A NUL reached PostgreSQL's driver, which refuses it with an error of its own (a 500)."""
    response = api.post("/v1/members", json=member_body(organization_id=value), headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert "organization_id" in fields_of(response)
    community = found()
    response = api.post(f"/v1/communities/{community['id']}/memberships", json={"member_id": value}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert "member_id" in fields_of(response)

import os

import pytest

from cercle_registration.main import main
from tests.support.services import auth

from .conftest import OPERATOR

HEADER = "email,display_name,consent_processing,region,expertise,consent_directory,communities,role\n"
CSV = {"Content-Type": "text/csv"}


def rows(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


def test_a_dry_run_checks_every_row_and_writes_nothing(api, db, found):
    community = found()
    text = rows(f"a@example.org,Alice,yes,06,ergonomie|sst,oui,{community['id']},", "b@example.org,Bruno,yes,06,,,,")
    response = api.post("/v1/members/import?dry_run=true", content=text, headers={**OPERATOR, **CSV})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["members"], report["memberships"], report["committed"]) == (2, 2, 1, False)
    assert db.count("members") == 0
    assert db.count("memberships") == 0
    assert db.count("outbox", "event_type like '%member.registered%'") == 0


def test_a_valid_file_imports_members_memberships_and_their_events(h, api, db, found):
    community = found()
    text = rows(
        f"A@Example.org,Alice,yes,06,ergonomie|sst,oui,{community['id']},facilitator", "b@example.org,Bruno,1,06,,,,"
    )
    response = api.post("/v1/members/import", content=text, headers={**OPERATOR, **CSV})
    assert response.status_code == 201, response.text
    assert response.json()["committed"] is True
    (alice,) = db.rows("select id, email, expertise, consents from members where display_name = 'Alice'")
    assert alice.email == "a@example.org"
    assert db.count("memberships", "member_id = :m and role = 'facilitator'", m=alice.id) == 1
    assert len(h.published("member.registered")) == 2
    assert len(h.published("membership.joined")) == 1


def test_any_bad_row_refuses_the_whole_file_with_a_report_per_row(api, db, register, found):
    register("taken@example.org")
    closed = found()
    api.post(f"/v1/communities/{closed['id']}/status", json={"status": "closed", "version": 1}, headers=OPERATOR)
    before = db.count("outbox")
    text = rows(
        "ok@example.org,Good Row,yes,06,,,,",  # line 2: fine
        "not-an-email,Bad Email,yes,06,,,,",  # 3
        "TAKEN@example.org,Taken,yes,06,,,,",  # 4: already in the database
        "new@example.org,First,yes,06,,,,",  # 5
        "New@example.org,Again,yes,06,,,,",  # 6: twice in the file
        "r@example.org,Region,yes,42,,,,",  # 7: unknown region
        "p@example.org,No Consent,no,06,,,,",  # 8
        f"c@example.org,Closed,yes,06,,,{closed['id']},",  # 9: closed community
        "x@example.org,Maybe,peut-être,06,,,,",  # 10
    )
    response = api.post("/v1/members/import", content=text, headers={**OPERATOR, **CSV})
    assert response.status_code == 422
    problem = response.json()
    assert problem["title"] == "Invalid input"
    assert "nothing was written" in problem["detail"]
    by_row = {e["row"]: e["field"] for e in problem["errors"]}
    assert by_row == {
        3: "email",
        4: "email",
        6: "email",
        7: "region",
        8: "consent_processing",
        9: "communities",
        10: "consent_processing",
    }
    assert problem["report"]["committed"] is False
    assert db.count("members") == 1
    assert db.count("outbox") == before


def test_a_coordinator_imports_only_into_their_regions(api):
    text = rows("a@example.org,Alice,yes,06,,,,", "q@example.org,Québec,yes,03,,,,")
    response = api.post("/v1/members/import", content=text, headers={**auth("coordinator", regions=["06"]), **CSV})
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(3, "region")]
    assert (
        api.post("/v1/members/import", content=text, headers={**auth("member", member_id="m"), **CSV}).status_code
        == 403
    )


def test_a_multipart_upload_and_a_semicolon_separated_file_are_accepted(api, db):
    text = "email;display_name;consent_processing;region\na@example.org;Alice;oui;06\n"
    response = api.post(
        "/v1/members/import", files={"file": ("membres.csv", text.encode(), "text/csv")}, headers=OPERATOR
    )
    assert response.status_code == 201, response.text
    assert db.count("members") == 1


def test_file_level_problems_are_422_or_415(api):
    bad_header = "email,display_name,consent_processing,shoe_size\n"
    response = api.post("/v1/members/import", content=bad_header, headers={**OPERATOR, **CSV})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
    missing = "email,display_name\n"
    assert api.post("/v1/members/import", content=missing, headers={**OPERATOR, **CSV}).status_code == 422
    assert api.post("/v1/members/import", json={"rows": []}, headers=OPERATOR).status_code == 415


@pytest.fixture
def cli_env(db_url, monkeypatch):
    monkeypatch.setenv("CERCLE_DATABASE_URL", db_url)
    monkeypatch.setenv("CERCLE_JWT_SECRET", "cli-test-secret-0123456789abcdef0123456789")
    monkeypatch.delenv("CERCLE_ENABLED_REGIONS", raising=False)


def test_the_cli_imports_with_a_dry_run_first(tmp_path, db, cli_env, capsys):
    path = tmp_path / "membres.csv"
    path.write_text(rows("a@example.org,Alice,yes,06,,,,", "b@example.org,Bruno,yes,13,,,,"), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_code:
        main(["import", str(path), "--dry-run"])
    assert exit_code.value.code == 0
    assert db.count("members") == 0
    assert "would create 2 members" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_code:
        main(["import", str(path)])
    assert exit_code.value.code == 0
    assert db.count("members") == 2


def test_the_cli_reports_bad_rows_and_writes_nothing(tmp_path, db, cli_env, capsys):
    path = tmp_path / "membres.csv"
    path.write_text(rows("a@example.org,Alice,yes,06,,,,", "a@example.org,Alice bis,yes,06,,,,"), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_code:
        main(["import", os.fspath(path)])
    assert exit_code.value.code == 1
    assert db.count("members") == 0
    assert "line 3: email" in capsys.readouterr().err


def test_the_cli_help_lists_the_import_command(capsys):
    with pytest.raises(SystemExit) as exit_code:
        main(["--help"])
    assert exit_code.value.code == 0
    listed = capsys.readouterr().out
    assert "import" in listed.split("{", 1)[1].split("}", 1)[0].split(",")  # the commands: {import,migrate,...}
    assert "Import members and memberships from a CSV file" in listed
    with pytest.raises(SystemExit) as exit_code:
        main(["import", "--help"])
    assert exit_code.value.code == 0
    usage = capsys.readouterr().out
    assert "--dry-run" in usage
    assert "email" in usage  # the columns are named

"""A CSV import never blocks the other writes of registration (issue 8, item 4), on a real SQLite file.

A 10,000-row dry run once held SQLite's write lock for 29–86 s, and a concurrent POST /v1/members waited, then
answered 500. Now a dry run only reads; a real import writes in short chunks, and undoes itself if a concurrent
change makes one of its rows invalid; a busy database answers 503 with Retry-After."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from cercle_registration.service_layer import importing
from cercle_shared.errors import Unavailable
from cercle_shared.principal import Principal, Role

from .conftest import OPERATOR, member_body

CSV = {**OPERATOR, "Content-Type": "text/csv"}
PROMPT = 10.0  # seconds: a third of SQLite's 30 s busy timeout, which a blocked writer would wait out
OPERATOR_PRINCIPAL = Principal(subject="op", role=Role.OPERATOR)


def csv_of(count: int, *, community_id: str = "", organization_id: str = "", prefix: str = "m") -> str:
    lines = [f"{prefix}{i}@example.org,Member {i},yes,06,{community_id},{organization_id}" for i in range(count)]
    return "email,display_name,consent_processing,region,communities,organization_id\n" + "\n".join(lines) + "\n"


def path_of(url: str) -> str:
    return url.removeprefix("sqlite:///")


@contextmanager
def write_lock_held(url: str) -> Iterator[sqlite3.Connection]:
    """Another process's writer holding SQLite's one write lock."""
    other = sqlite3.connect(path_of(url), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.rollback()
        other.close()


def short_busy_timeout(h, milliseconds: int = 300) -> None:
    """Wait that long for the lock instead of 30 s, so that a test of the busy answer does not take 30 s."""
    engine = h.runtime.engine

    @event.listens_for(engine, "connect")
    def _shorter(dbapi_connection, _record) -> None:
        dbapi_connection.execute(f"PRAGMA busy_timeout={milliseconds}")

    engine.dispose()


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_members_are_registered_promptly_while_a_10000_row_dry_run_runs(api, db, found):
    community = found()
    text = csv_of(10_000, community_id=community["id"])
    outcome: dict = {}

    def dry_run() -> None:
        outcome["response"] = api.post("/v1/members/import?dry_run=true", content=text, headers=CSV)

    importer = threading.Thread(target=dry_run)
    importer.start()
    answers = []
    while importer.is_alive() and len(answers) < 20:
        response, took = timed(
            lambda: api.post("/v1/members", json=member_body(f"live{len(answers)}@example.org"), headers=OPERATOR)
        )
        answers.append((response.status_code, round(took, 2), importer.is_alive(), response.text[:200]))
    importer.join()
    during = [a for a in answers if a[2]]
    assert during, "the dry run ended before any registration: make the file bigger"
    assert all(status == 201 for status, *_ in answers), answers
    assert all(took < PROMPT for _, took, *_ in answers), answers
    assert outcome["response"].status_code == 200, outcome["response"].text
    assert outcome["response"].json()["members"] == 10_000
    assert db.count("members") == len(answers)


def test_a_dry_run_takes_no_write_lock_at_all(h, api, db, found):
    community = found()
    text = csv_of(300, community_id=community["id"])
    with write_lock_held(h.database_url):
        response, took = timed(lambda: api.post("/v1/members/import?dry_run=true", content=text, headers=CSV))
    assert response.status_code == 200, response.text
    assert took < PROMPT
    assert response.json()["members"] == 300
    assert db.count("members") == 0


def test_a_busy_database_answers_503_with_retry_after_on_registration_and_import(h, api, db):
    short_busy_timeout(h)
    with write_lock_held(h.database_url):
        registered = api.post("/v1/members", json=member_body(), headers=OPERATOR)
        imported = api.post("/v1/members/import", content=csv_of(120), headers=CSV)
    for response in (registered, imported):
        assert response.status_code == 503, response.text
        assert int(response.headers["Retry-After"]) >= 1
        assert response.headers["content-type"].startswith("application/problem+json")
    assert db.count("members") == 0
    assert db.count("outbox") == 0


def test_members_are_registered_promptly_while_a_real_import_writes(api, db, found, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 25)
    community = found()
    rows = 500
    outcome: dict = {}

    def real_import() -> None:
        outcome["response"] = api.post(
            "/v1/members/import", content=csv_of(rows, community_id=community["id"]), headers=CSV
        )

    importer = threading.Thread(target=real_import)
    importer.start()
    deadline = time.monotonic() + 120
    while db.count("members") == 0 and time.monotonic() < deadline:
        time.sleep(0.02)  # the first chunk is written: the import is in its writing phase
    response, took = timed(lambda: api.post("/v1/members", json=member_body("live@example.org"), headers=OPERATOR))
    written_meanwhile = db.count("members", "email like 'm%'")
    importer.join()
    assert response.status_code == 201, response.text
    assert took < PROMPT
    assert written_meanwhile < rows, "the import had finished: the registration did not run concurrently"
    assert outcome["response"].status_code == 201, outcome["response"].text
    assert db.count("members") == rows + 1
    assert db.count("memberships") == rows
    assert db.count("member_imports") == 0  # complete: nothing left to undo


# --- a race lost while writing: nothing of the import is kept -----------------------------------------------------


def run_import(h, text: str, *, meanwhile, after_rows: int, chunk_rows: int = 10) -> importing.ImportReport:
    """Import through the service layer; `meanwhile()` runs once `after_rows` rows are written."""
    state = {"progress": 0, "done": False}
    rows = importing.parse_csv(text)

    def progress(step: int) -> None:
        state["progress"] += step
        if not state["done"] and state["progress"] >= len(rows) + after_rows:  # checked every row, then wrote some
            state["done"] = True
            meanwhile()

    return importing.import_members(
        text,
        h.uow(),
        OPERATOR_PRINCIPAL,
        h.app.state.regions,
        dry_run=False,
        progress=progress,
        clock=h.clock,
        chunk_rows=chunk_rows,
        chunk_pause=0,
    )


def test_an_email_registered_while_the_import_writes_undoes_the_whole_import(h, api, db):
    text = csv_of(50)

    def register_a_later_row() -> None:
        assert api.post("/v1/members", json=member_body("m37@example.org"), headers=OPERATOR).status_code == 201

    report = run_import(h, text, meanwhile=register_a_later_row, after_rows=20)
    assert [(e.row, e.field) for e in report.errors] == [(39, "email")]  # m37 is on line 39 (the header is line 1)
    assert (report.committed, report.undone) == (False, 30)
    assert [r.email for r in db.rows("select email from members")] == ["m37@example.org"]
    assert db.count("member_imports") == 0
    assert db.count("consent_changes") == 4
    assert len(h.published("member.registered")) == 31  # 30 written, then erased; and the one registered meanwhile
    assert len(h.published("member.erased")) == 30


def test_an_organization_deleted_or_a_community_closed_while_the_import_writes_undoes_it(h, api, db, found):
    organization = api.post("/v1/organizations", json={"name": "CISSS"}, headers=OPERATOR).json()
    community = found()
    text = csv_of(20, organization_id=organization["id"], prefix="o") + "\n".join(
        f"c{i}@example.org,C {i},yes,06,{community['id']}," for i in range(20)
    )

    def close_the_community() -> None:
        closed = api.post(
            f"/v1/communities/{community['id']}/status", json={"status": "closed", "version": 1}, headers=OPERATOR
        )
        assert closed.status_code == 200, closed.text

    report = run_import(h, text, meanwhile=close_the_community, after_rows=20)
    assert [(e.row, e.field) for e in report.errors] == [(22, "communities")]
    assert "closed" in report.errors[0].message
    assert (report.committed, report.undone) == (False, 20)
    assert db.count("members") == 0
    assert db.count("memberships") == 0

    def delete_the_organization() -> None:
        # nobody belongs to it yet: the first chunk carries members of another organization
        assert api.delete(f"/v1/organizations/{organization['id']}", headers=OPERATOR).status_code == 204

    other = api.post("/v1/organizations", json={"name": "Autre"}, headers=OPERATOR).json()
    text = csv_of(10, organization_id=other["id"], prefix="p") + "\n".join(
        f"q{i}@example.org,Q {i},yes,06,,{organization['id']}" for i in range(10)
    )
    report = run_import(h, text, meanwhile=delete_the_organization, after_rows=10)
    assert [(e.row, e.field) for e in report.errors] == [(12, "organization_id")]
    assert (report.committed, report.undone) == (False, 10)
    assert db.count("members") == 0


def test_an_import_that_finds_the_database_busy_midway_keeps_nothing_and_says_503(h, db):
    short_busy_timeout(h)
    held: list[sqlite3.Connection] = []

    def lock_the_database_for_a_second() -> None:
        other = sqlite3.connect(path_of(h.database_url), isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        held.append(other)

        def release() -> None:
            other.rollback()
            other.close()

        threading.Timer(1.0, release).start()

    with pytest.raises(Unavailable):
        run_import(h, csv_of(40), meanwhile=lock_the_database_for_a_second, after_rows=10)
    assert held
    assert db.count("members") == 0
    assert len(h.published("member.erased")) == 10


def test_the_import_is_documented_with_its_per_row_refusal(api):
    """Item 16: the 422 with the per-row report is in the OpenAPI document, next to the dry run's 200."""
    operation = api.get("/openapi.json").json()["paths"]["/v1/members/import"]["post"]
    refused = operation["responses"]["422"]
    example = refused["content"]["application/problem+json"]["example"]
    assert example["errors"][0].keys() == {"row", "field", "message"}
    assert example["report"]["committed"] is False
    assert "row" in refused["description"]
    assert "Dry run" in operation["responses"]["200"]["description"]
    assert operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("ImportReportPublic")
    assert "Retry-After" in operation["responses"]["503"]["description"]


def test_the_refusal_body_matches_its_documentation(api, register):
    register("taken@example.org")
    text = "email,display_name,consent_processing\nok@example.org,Ok,yes\ntaken@example.org,Taken,yes\n"
    for dry_run in ("true", "false"):
        response = api.post(f"/v1/members/import?dry_run={dry_run}", content=text, headers=CSV)
        assert response.status_code == 422
        body = response.json()
        assert body["errors"] == [{"row": 3, "field": "email", "message": "a member with this email already exists"}]
        assert body["report"]["errors"] == body["errors"]
        assert body["report"]["dry_run"] is (dry_run == "true")
        assert body["report"]["undone"] == 0


def test_every_write_answers_503_with_retry_after_while_the_database_is_busy(h, api, db, register, found):
    """The same class of defect on every other write of registration: busy is a 503, never a 500."""
    member = register()
    community = found()
    organization = api.post("/v1/organizations", json={"name": "CISSS"}, headers=OPERATOR).json()
    api.post(f"/v1/communities/{community['id']}/memberships", json={"member_id": member["id"]}, headers=OPERATOR)
    me = {"Authorization": h.as_member(member["id"])["Authorization"]}
    c, m, o = community["id"], member["id"], organization["id"]
    writes = [
        ("post", "/v1/members", member_body("other@example.org"), OPERATOR),
        ("patch", f"/v1/members/{m}", {"job_title": "Chef", "version": 1}, OPERATOR),
        ("patch", "/v1/members/me", {"consents": {"directory": True}, "version": 1}, me),
        ("post", "/v1/organizations", {"name": "Autre"}, OPERATOR),
        ("patch", f"/v1/organizations/{o}", {"sector": "santé", "version": 1}, OPERATOR),
        ("post", "/v1/communities", {"name_fr": "B", "name_en": "B", "regions": ["06"]}, OPERATOR),
        ("patch", f"/v1/communities/{c}", {"cadence": 8, "version": 1}, OPERATOR),
        ("post", f"/v1/communities/{c}/status", {"status": "paused", "version": 1}, OPERATOR),
        ("patch", f"/v1/communities/{c}/memberships/{m}", {"role": "facilitator", "version": 1}, OPERATOR),
        ("delete", f"/v1/communities/{c}/memberships/{m}", None, OPERATOR),
        ("post", f"/v1/members/{m}/erasure", None, OPERATOR),
        ("delete", f"/v1/members/{m}", None, OPERATOR),
        ("delete", f"/v1/organizations/{o}", None, OPERATOR),
    ]
    short_busy_timeout(h)
    before = db.count("outbox")
    with write_lock_held(h.database_url):
        answers = [
            (method, path, api.request(method.upper(), path, json=body, headers=headers))
            for method, path, body, headers in writes
        ]
    for method, path, response in answers:
        assert response.status_code == 503, (method, path, response.status_code, response.text)
        assert int(response.headers["Retry-After"]) >= 1, (method, path)
    assert db.count("outbox") == before
    assert db.count("members") == 1


# --- an import left midway (its process stopped) is undone by a job ----------------------------------------------


class Crash(BaseException):
    """The process stops: nothing after this line of the import runs."""


def test_an_import_left_midway_is_undone_by_the_job_once_it_stalled(h, db, monkeypatch):
    def crash() -> None:
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(importing, "undo_import", lambda *args, **kwargs: crash())
        with pytest.raises(Crash):
            run_import(h, csv_of(50), meanwhile=crash, after_rows=20)
    assert db.count("members") == 20
    assert db.count("member_imports") == 1

    assert h.run_job("undo-interrupted-imports") == []  # it may still be writing: not yet
    assert db.count("members") == 20
    h.advance(minutes=11)
    assert len(h.run_job("undo-interrupted-imports")) == 1
    assert db.count("members") == 0
    assert db.count("consent_changes") == 0
    assert db.count("member_imports") == 0
    assert len(h.published("member.erased")) == 20
    assert h.run_job("undo-interrupted-imports") == []


def test_an_import_the_job_took_for_stalled_stops_and_keeps_nothing(h, db):
    def stall_then_job() -> None:
        h.advance(minutes=11)
        assert len(h.run_job("undo-interrupted-imports")) == 1

    with pytest.raises(Unavailable):
        run_import(h, csv_of(50), meanwhile=stall_then_job, after_rows=20)
    assert db.count("members") == 0
    assert db.count("member_imports") == 0
    assert len(h.published("member.erased")) == 20


def test_an_import_of_one_chunk_keeps_no_record(h, db):
    report = run_import(h, csv_of(5), meanwhile=lambda: None, after_rows=5)
    assert report.committed
    assert db.count("members") == 5
    assert db.count("member_imports") == 0


def test_a_race_lost_between_the_recheck_and_the_commit_names_the_row_and_undoes_the_import(h, api, db, monkeypatch):
    recheck = importing._recheck
    calls = []

    def recheck_then_lose_the_race(chunk, uow, principal) -> None:
        recheck(chunk, uow, principal)
        calls.append(len(chunk))
        if len(calls) == 2:  # the second chunk: its row m14 is registered right after its re-check passed
            assert api.post("/v1/members", json=member_body("m14@example.org"), headers=OPERATOR).status_code == 201

    monkeypatch.setattr(importing, "_recheck", recheck_then_lose_the_race)
    report = run_import(h, csv_of(30), meanwhile=lambda: None, after_rows=30)
    assert [(e.row, e.field) for e in report.errors] == [(16, "email")]  # m14 is on line 16
    assert (report.committed, report.undone) == (False, 10)
    assert [r.email for r in db.rows("select email from members")] == ["m14@example.org"]
    assert db.count("member_imports") == 0

"""cercle-ops against the compose stack on a real Docker engine: `status` shows every container, lag, outbox
backlog and dead letters and fails when a service is down; backup, erase a member, restore: the restore applies her
erasure again in every service, so she stays erased; `logs --since` prints a service's recent lines."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from cercle_ops import stack as ops_stack
from cercle_ops.cli import main
from cercle_shared.privacy import erasure_key
from devtools.wait import wait_until

# tests/compose/conftest.py marks every test here `compose`.


@pytest.fixture
def ops(compose_stack, monkeypatch):
    """Run cercle-ops for this stack as an operator would, next to it (the admin principal when it is secured)."""
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", compose_stack.name)
    monkeypatch.setenv("CERCLE_KAFKA_BOOTSTRAP", compose_stack.kafka_bootstrap)
    if admin_password := compose_stack.env.get("CERCLE_KAFKA_ADMIN_PASSWORD"):
        monkeypatch.setenv("CERCLE_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
        monkeypatch.setenv("CERCLE_KAFKA_SASL_USERNAME", "cercle-admin")
        monkeypatch.setenv("CERCLE_KAFKA_SASL_PASSWORD", admin_password)

    def run(*args: str) -> int:
        return main(list(args))

    return run


def _status(ops, capsys) -> tuple[int, dict]:
    code = ops("status", "--json")
    return code, json.loads(capsys.readouterr().out)


def _consumed(report: dict) -> set[str]:
    """The groups that committed offsets on the communities topic and have read all of it."""
    return {
        lag["group"] for lag in report["lag"] if lag["topic"] == "cercle.registration.communities" and lag["lag"] == 0
    }


def test_status_shows_the_running_stack_healthy(ops, compose_api, capsys):
    compose_api.eventually(lambda: compose_api.insights.get("/readyz"), lambda r: r.status_code == 200)
    # An event for every consumer, so that each group has committed offsets to measure its lag from.
    created = compose_api.registration.post(
        "/v1/communities",
        headers=compose_api.auth("operator"),
        json={"name_fr": "CoP Opérations", "name_en": "Operations CoP", "regions": ["13"]},
    )
    assert created.status_code == 201, created.text
    wanted = {"cercle-sessions", "cercle-notifications", "cercle-insights"}
    _, report = wait_until(
        lambda: (result := _status(ops, capsys))[0] == 0 and wanted <= _consumed(result[1]) and result,
        120,
        message="cercle-ops status healthy, every group caught up",
    )
    by_service = {c["service"]: c for c in report["containers"]}
    for service in ("kafka", "postgres", "registration", "sessions", "notifications", "insights"):
        assert by_service[service]["state"] == "running"
    for service in ("registration", "sessions", "notifications", "insights"):
        assert by_service[service]["health"] == "healthy"
        assert isinstance(report["outbox_backlog"][service], int)
        assert isinstance(report["dead_letters"][service], int)
    assert report["healthy"] is True

    assert ops("status") == 0
    table = capsys.readouterr().out
    assert "registration" in table
    assert "consumer lag" in table


def test_status_fails_while_a_service_is_stopped_and_recovers_after(ops, compose_stack, capsys):
    client = ops_stack.client()
    insights = ops_stack.find_service(client, compose_stack.name, "insights")
    insights.stop(timeout=20)
    try:
        code, report = _status(ops, capsys)
        assert code == 1
        assert any(f["subject"] == "insights" for f in report["findings"])
    finally:
        insights.start()
    wait_until(lambda: _status(ops, capsys)[0] == 0, 120, message="the stack healthy again")


# Where each service keeps a member: rows that name her, as (database, SQL count).
HER_ROWS = {
    "registration": ("registration", "select count(*) from members where id = '{m}'"),
    "registration memberships": ("registration", "select count(*) from memberships where member_id = '{m}'"),
    "sessions memberships": ("sessions", "select count(*) from memberships where member_id = '{m}'"),
    "sessions contact": ("sessions", "select count(*) from member_contacts where member_id = '{m}'"),
    "notifications contact": ("notifications", "select count(*) from contacts where member_id = '{m}'"),
    "notifications memberships": ("notifications", "select count(*) from memberships where member_id = '{m}'"),
    "insights memberships": ("insights", "select count(*) from memberships where member_id = '{m}'"),
}
LEDGERS = ("sessions", "notifications", "insights")  # their erased_members: a digest of her id, once she is erased


def _her_rows(postgres, member_id: str) -> dict[str, int]:
    return {where: int(ops_stack.psql(postgres, db, sql.format(m=member_id))) for where, (db, sql) in HER_ROWS.items()}


def _in_ledgers(postgres, member_id: str) -> dict[str, bool]:
    key = erasure_key(member_id)
    return {
        db: ops_stack.psql(postgres, db, f"select count(*) from erased_members where key = '{key}'") == "1"
        for db in LEDGERS
    }


def test_backup_then_erase_then_restore_keeps_the_member_erased_in_every_service(
    ops, compose_api, compose_stack, tmp_path, capsys
):
    op = compose_api.auth("operator")
    postgres = ops_stack.find_service(ops_stack.client(), compose_stack.name, ops_stack.POSTGRES)
    community = compose_api.registration.post(
        "/v1/communities",
        headers=op,
        json={"name_fr": "CoP Sauvegardes", "name_en": "Backups CoP", "regions": ["13"]},
    )
    assert community.status_code == 201, community.text
    name = f"Rosalie Backup-{uuid.uuid4().hex[:6]}"
    created = compose_api.registration.post(
        "/v1/members",
        headers=op,
        json={
            "display_name": name,
            "email": f"rosalie.{uuid.uuid4().hex[:6]}@example.org",
            "region": "13",
            "consents": {"processing": True},
        },
    )
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    joined = compose_api.registration.post(
        f"/v1/communities/{community.json()['id']}/memberships", headers=op, json={"member_id": member_id}
    )
    assert joined.status_code == 201, joined.text
    wait_until(lambda: all(_her_rows(postgres, member_id).values()), 120, message="every service holds the new member")

    assert ops("backup", "--out", str(tmp_path)) == 0
    [archive] = list(tmp_path.glob("cercle-backup-*.tar"))
    manifest, dumps = ops_stack.read_archive(archive)
    assert archive.name.startswith(f"cercle-backup-{manifest['project']}-")
    assert set(dumps) == {"registration", "sessions", "notifications", "insights"}
    assert all(data.startswith(b"PGDMP") for data in dumps.values())
    capsys.readouterr()

    assert compose_api.registration.delete(f"/v1/members/{member_id}", headers=op).status_code == 204
    wait_until(
        lambda: not any(_her_rows(postgres, member_id).values()) and all(_in_ledgers(postgres, member_id).values()),
        120,
        message="every service followed the erasure",
    )

    # The four databases go back to before her erasure; the restore applies it again in each before they start.
    started = time.monotonic()
    assert ops("restore", str(archive)) == 0
    compose_stack.timings["restore: 4 databases, erasures re-applied"] = round(time.monotonic() - started, 1)
    out = capsys.readouterr().out
    assert "restored registration, sessions, notifications, insights" in out
    reports = [line.strip() for line in out.splitlines() if "erasures read" in line]
    assert sorted(report.split(":")[0] for report in reports) == [
        "insights",
        "notifications",
        "registration",
        "sessions",
    ]
    assert _her_rows(postgres, member_id) == dict.fromkeys(HER_ROWS, 0)
    assert _in_ledgers(postgres, member_id) == dict.fromkeys(LEDGERS, True)
    compose_api.eventually(
        lambda: compose_api.registration.get(f"/v1/members/{member_id}", headers=op),
        lambda r: r.status_code == 404,
        timeout=120,
        message="registration serving again, without her",
    )
    # The services' own containers are back (the one-off containers of the re-application are gone).
    wait_until(lambda: _status(ops, capsys)[0] == 0, 180, message="the stack healthy after the restore")


def test_logs_since_prints_a_services_recent_lines(ops, capsys):
    assert ops("logs", "registration", "--since", "30m", "--no-follow") == 0
    out = capsys.readouterr().out
    assert out.strip()
    assert out.splitlines()[0][:2] == "20"  # each line starts with its timestamp


def test_logs_of_a_service_the_project_does_not_have_is_refused(ops, capsys):
    assert ops("logs", "nosuchservice", "--no-follow") == 2
    assert "nosuchservice" in capsys.readouterr().err

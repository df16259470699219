"""cercle-ops against the compose stack on a real Docker engine: `status` shows every container, lag, outbox
backlog and dead letters and fails when a service is down; backup, erase a member, restore: the member is back;
`logs --since` prints a service's recent lines."""

from __future__ import annotations

import json
import uuid

import pytest

from cercle_ops import stack as ops_stack
from cercle_ops.cli import main
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


def test_backup_then_erase_then_restore_brings_the_member_back(ops, compose_api, tmp_path, capsys):
    op = compose_api.auth("operator")
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

    assert ops("backup", "--out", str(tmp_path)) == 0
    [archive] = list(tmp_path.glob("cercle-backup-*.tar"))
    manifest, dumps = ops_stack.read_archive(archive)
    assert archive.name.startswith(f"cercle-backup-{manifest['project']}-")
    assert set(dumps) == {"registration", "sessions", "notifications", "insights"}
    assert all(data.startswith(b"PGDMP") for data in dumps.values())
    capsys.readouterr()

    assert compose_api.registration.delete(f"/v1/members/{member_id}", headers=op).status_code == 204
    assert compose_api.registration.get(f"/v1/members/{member_id}", headers=op).status_code == 404

    assert ops("restore", str(archive), "--service", "registration") == 0
    assert "restored registration" in capsys.readouterr().out
    back = compose_api.eventually(
        lambda: compose_api.registration.get(f"/v1/members/{member_id}", headers=op),
        lambda r: r.status_code == 200,
        timeout=120,
        message="the member back after the restore",
    )
    assert back.json()["display_name"] == name


def test_logs_since_prints_a_services_recent_lines(ops, capsys):
    assert ops("logs", "registration", "--since", "30m", "--no-follow") == 0
    out = capsys.readouterr().out
    assert out.strip()
    assert out.splitlines()[0][:2] == "20"  # each line starts with its timestamp


def test_logs_of_a_service_the_project_does_not_have_is_refused(ops, capsys):
    assert ops("logs", "nosuchservice", "--no-follow") == 2
    assert "nosuchservice" in capsys.readouterr().err

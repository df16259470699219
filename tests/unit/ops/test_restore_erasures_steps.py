"""The order of `cercle-ops restore` and what it does when a step fails, without Docker (the compose test runs it on
the real stack): the services are stopped, the erasures read, the databases restored, the erasures re-applied in
each, and only then are the services started; a service whose erasures were not re-applied stays stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from cercle_ops import erasures as ops_erasures
from cercle_ops import stack
from cercle_ops.cli import main
from cercle_shared import erasures
from cercle_shared.messaging import Record, Subscriptions


class FakeContainer:
    def __init__(self, service: str, steps: list[str]) -> None:
        self.name = f"cercle-{service}-1"
        self.service = service
        self.status = "running"
        self.labels = {stack.SERVICE_LABEL: service, stack.PROJECT_LABEL: "cercle"}
        self.attrs = {"State": {"Status": "running"}, "Config": {}, "HostConfig": {}}
        self._steps = steps

    def stop(self, timeout: int = 0) -> None:
        self.status = "exited"
        self._steps.append(f"stop {self.service}")

    def start(self) -> None:
        self.status = "running"
        self._steps.append(f"start {self.service}")


ERASURE = Record(erasures.TOPIC, 0, 7, b"m-1", b"{}", {"ce_type": erasures.EVENT_TYPE.encode(), "ce_id": b"e-1"})


@pytest.fixture
def steps(monkeypatch) -> list[str]:
    done: list[str] = []
    containers = {s: FakeContainer(s, done) for s in ("postgres", "registration", "sessions")}
    monkeypatch.setattr(
        stack, "read_archive", lambda path: ({"project": "cercle"}, {"registration": b"PGDMP", "sessions": b"PGDMP"})
    )
    monkeypatch.setattr(stack, "containers", containers, raising=False)
    monkeypatch.setattr(stack, "handed", {}, raising=False)
    monkeypatch.setattr(stack, "find_service", lambda client, project, service: containers[service])
    monkeypatch.setattr(stack, "_pg_restore", lambda container, service, dump: done.append(f"pg_restore {service}"))
    monkeypatch.setattr(stack, "unpublished_erasures", lambda container: done.append("outbox") or [])
    monkeypatch.setattr(stack, "exit_codes", {}, raising=False)

    def one_off(client, template, command, *, files=None, timeout=0):
        done.append(f"{command[1]} {template.service}")
        assert command == ["cercle-service", erasures.COMMAND, stack.ERASURES_FILE]
        stack.handed[template.service] = erasures.from_lines(files[stack.ERASURES_FILE].decode().splitlines())
        code = stack.exit_codes.get(template.service, 0)
        return stack.ExecResult(code, f"{template.service}: 1 erasures read\n".encode(), b"boom" if code else b"")

    monkeypatch.setattr(stack, "run_one_off", one_off)
    return done


def read_erasures(steps: list[str]):
    def read() -> list[Record]:
        steps.append("read erasures")
        return [ERASURE]

    return read


def test_a_restore_reads_the_erasures_after_stopping_and_reapplies_them_before_starting(steps):
    restored = stack.restore(object(), "cercle", Path("b.tar"), read_erasures=read_erasures(steps))
    # Stops and re-applications run side by side: their order within a phase is not fixed.
    phases = [set(steps[0:2]), *steps[2:6], set(steps[6:8]), *steps[8:]]
    assert phases == [
        {"stop registration", "stop sessions"},
        "read erasures",
        "outbox",  # registration's unpublished erasures, before its outbox is overwritten
        "pg_restore registration",
        "pg_restore sessions",
        {"reapply-erasures registration", "reapply-erasures sessions"},
        "start registration",
        "start sessions",
    ]
    assert restored.services == ["registration", "sessions"]
    assert restored.erasures == 1
    assert restored.applied["sessions"] == "sessions: 1 erasures read"
    assert stack.handed == {"registration": [ERASURE], "sessions": [ERASURE]}


def test_a_service_whose_erasures_failed_stays_stopped_and_the_restore_says_so(steps):
    stack.exit_codes["sessions"] = 1
    with pytest.raises(stack.RestoreIncomplete) as refused:
        stack.restore(object(), "cercle", Path("b.tar"), read_erasures=read_erasures(steps))
    assert refused.value.held_back.keys() == {"sessions"}
    assert "boom" in str(refused.value)
    assert "start registration" in steps
    assert "start sessions" not in steps


def test_without_the_broker_nothing_is_restored_and_the_services_start_again(steps):
    def unreachable() -> list[Record]:
        raise TimeoutError("cercle.registration.members: not read to its end within 120s")

    with pytest.raises(TimeoutError):
        stack.restore(object(), "cercle", Path("b.tar"), read_erasures=unreachable)
    assert not [s for s in steps if s.startswith(("pg_restore", "reapply"))]
    assert steps[-2:] == ["start registration", "start sessions"]


def test_a_restore_that_stops_midway_names_the_restored_services_it_left_stopped(steps, monkeypatch):
    def second_fails(container, service, dump):
        if service == "sessions":
            raise RuntimeError("pg_restore sessions: disk full")
        steps.append(f"pg_restore {service}")

    monkeypatch.setattr(stack, "_pg_restore", second_fails)
    with pytest.raises(stack.RestoreIncomplete) as refused:
        stack.restore(object(), "cercle", Path("b.tar"), read_erasures=read_erasures(steps))
    assert refused.value.held_back.keys() == {"registration"}  # sessions' restore rolled back: it starts again
    assert "disk full" in str(refused.value)
    assert "start sessions" in steps
    assert "start registration" not in steps


def test_the_cli_exits_1_and_names_the_services_left_stopped(steps, monkeypatch, capsys):
    stack.exit_codes["registration"] = 3
    monkeypatch.setattr(stack, "client", lambda: object())
    monkeypatch.setattr(ops_erasures, "read", lambda settings: [ERASURE])
    assert main(["restore", "b.tar"]) == 1
    err = capsys.readouterr().err
    assert "left stopped: registration" in err


def test_a_restore_interrupted_after_its_pg_restores_names_the_services_it_left_stopped(steps, monkeypatch, capsys):
    def interrupted(client, template, command, *, files=None, timeout=0):
        raise KeyboardInterrupt

    monkeypatch.setattr(stack, "run_one_off", interrupted)
    monkeypatch.setattr(stack, "client", lambda: object())
    monkeypatch.setattr(ops_erasures, "read", lambda settings: [ERASURE])
    assert main(["restore", "b.tar"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cercle-ops: left stopped: registration, sessions")
    assert "KeyboardInterrupt" in err
    assert not [step for step in steps if step.startswith("start")]


# --- --no-stop: the services keep running -------------------------------------------------------------------------


def test_no_stop_restores_and_reapplies_without_stopping_or_starting_anything(steps, monkeypatch, capsys):
    monkeypatch.setattr(stack, "client", lambda: object())
    monkeypatch.setattr(ops_erasures, "read", lambda settings: read_erasures(steps)())
    assert main(["restore", "b.tar", "--no-stop"]) == 0
    assert not [step for step in steps if step.startswith(("stop", "start"))]
    # The erasures are read once more after the restores: the services ran meanwhile.
    assert steps[:5] == ["read erasures", "outbox", "pg_restore registration", "pg_restore sessions", "read erasures"]
    assert set(steps[5:]) == {"reapply-erasures registration", "reapply-erasures sessions"}
    assert all(container.status == "running" for container in stack.containers.values())
    assert stack.handed == {"registration": [ERASURE], "sessions": [ERASURE]}  # the same record once, not twice
    assert "restored registration, sessions from b.tar" in capsys.readouterr().out


def test_no_stop_reapplies_an_erasure_published_while_the_databases_were_restored(steps):
    later = Record(erasures.TOPIC, 1, 3, b"m-2", b"{}", {"ce_type": erasures.EVENT_TYPE.encode(), "ce_id": b"e-2"})
    reads = iter([[ERASURE], [ERASURE, later]])
    restored = stack.restore(object(), "cercle", Path("b.tar"), read_erasures=lambda: next(reads), stop_services=False)
    assert restored.erasures == 2
    assert stack.handed == {"registration": [ERASURE, later], "sessions": [ERASURE, later]}


def test_no_stop_stops_only_the_service_whose_erasures_failed(steps):
    stack.exit_codes["sessions"] = 1
    with pytest.raises(stack.RestoreIncomplete) as refused:
        stack.restore(object(), "cercle", Path("b.tar"), read_erasures=read_erasures(steps), stop_services=False)
    assert refused.value.held_back.keys() == {"sessions"}
    assert [step for step in steps if step.startswith(("stop", "start"))] == ["stop sessions"]
    assert stack.containers["registration"].status == "running"


def test_no_stop_without_the_broker_restores_nothing_and_leaves_the_services_running(steps):
    def unreachable() -> list[Record]:
        raise TimeoutError("cercle.registration.members: not read to its end within 120s")

    with pytest.raises(TimeoutError):
        stack.restore(object(), "cercle", Path("b.tar"), read_erasures=unreachable, stop_services=False)
    assert steps == []
    assert all(container.status == "running" for container in stack.containers.values())


# --- what is refused before any service is stopped -----------------------------------------------------------------


def test_a_backup_of_another_project_is_refused_before_anything_unless_asked(steps, monkeypatch):
    monkeypatch.setattr(stack, "read_archive", lambda path: ({"project": "staging"}, {"sessions": b"PGDMP"}))
    with pytest.raises(stack.BadArchive, match="'staging', not of 'cercle'"):
        stack.restore(object(), "cercle", Path("b.tar"), read_erasures=read_erasures(steps))
    assert steps == []
    stack.restore(object(), "cercle", Path("b.tar"), read_erasures=read_erasures(steps), other_project=True)
    assert "pg_restore sessions" in steps


def test_a_service_named_twice_is_restored_once(steps):
    restored = stack.restore(
        object(), "cercle", Path("b.tar"), ["sessions", "sessions"], read_erasures=read_erasures(steps)
    )
    assert restored.services == ["sessions"]
    assert steps.count("pg_restore sessions") == 1
    assert steps.count("reapply-erasures sessions") == 1


def test_a_service_the_archive_does_not_hold_is_refused_before_anything(steps):
    with pytest.raises(ValueError, match="no dump of insights"):
        stack.restore(object(), "cercle", Path("b.tar"), ["insights"], read_erasures=read_erasures(steps))
    assert steps == []


def test_a_stopped_postgres_is_refused_before_any_service_is_stopped(steps):
    stack.containers["postgres"].status = "exited"
    with pytest.raises(LookupError, match="PostgreSQL"):
        stack.restore(object(), "cercle", Path("b.tar"), read_erasures=read_erasures(steps))
    assert steps == []


def test_the_cli_says_in_one_line_that_the_broker_is_unreachable_and_restores_nothing(steps, monkeypatch, capsys):
    from aiokafka.errors import KafkaConnectionError

    def unreachable(settings):
        raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9, <AddressFamily.AF_INET: 2>)]")

    monkeypatch.setattr(stack, "client", lambda: object())
    monkeypatch.setattr(ops_erasures, "read", unreachable)
    assert main(["--bootstrap", "127.0.0.1:9", "restore", "b.tar"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("cercle-ops: Kafka at 127.0.0.1:9 unreachable")
    assert not [step for step in steps if step.startswith(("pg_restore", "reapply"))]
    assert all(container.status == "running" for container in stack.containers.values())


# --- the file a restore hands each service ------------------------------------------------------------------------


def test_a_record_survives_its_json_line_with_every_header_and_a_header_without_value():
    record = Record(erasures.TOPIC, 2, 41, b"m-9", '{"é": 1}'.encode(), {"ce_id": b"e-9", "empty": None})
    assert erasures.from_lines([erasures.to_line(record), ""]) == [record]
    assert ops_erasures.to_file([record, record]).decode().count("\n") == 2


@pytest.mark.parametrize("line", ["not json", "[]", '{"topic": "t"}', '{"topic": "t", "partition": "x"}'])
def test_a_line_that_is_not_a_record_is_refused_with_its_number(line):
    with pytest.raises(ValueError, match="line 2"):
        erasures.from_lines([erasures.to_line(ERASURE), line])


def test_only_member_erased_records_are_erasures():
    assert erasures.is_erasure([("CE_TYPE", erasures.EVENT_TYPE.encode())])
    assert not erasures.is_erasure([("ce_type", b"org.cercle.registration.member.registered.v1")])
    assert not erasures.is_erasure([("ce_type", None)])


def test_an_outbox_row_becomes_a_record_of_the_members_topic():
    [record] = ops_erasures.from_outbox([{"key": "m-1", "value": "{}", "headers": {"ce_id": "e-1"}}])
    assert (record.topic, record.key, record.value, record.headers) == (
        erasures.TOPIC,
        b"m-1",
        b"{}",
        {"ce_id": b"e-1"},
    )


def test_a_service_without_a_reaction_to_member_erased_cannot_reapply():
    with pytest.raises(ValueError, match="no reaction to MemberErased"):
        erasures.only_erasures(Subscriptions())

"""cercle-ops in the hands of an operator who makes mistakes, and on records an attacker shaped: a missing or damaged
archive, a backup of another project, bad arguments, Docker or Kafka unreachable, a command failing in a container,
dead letters whose headers and times are hostile. Each ends with one line on stderr and a non-zero exit, never a
traceback, and nothing is stopped or restored on the way. Without Docker: the engine is replaced where it would be
asked; Kafka is asked at a closed loopback port."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from docker.errors import DockerException
from rich.console import Console

from cercle_ops import cli, dlq, stack, status
from cercle_ops.lag import TopicLag
from cercle_ops.text import printable
from cercle_shared.settings import KafkaSettings
from devtools.ports import free_port


def one_line(err: str) -> str:
    assert err.endswith("\n"), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert err.startswith("cercle-ops: ")
    return err


@pytest.fixture
def no_docker(monkeypatch) -> list[str]:
    """Docker is never asked anything: each attempt is noted (and fails as an absent engine would)."""
    asked: list[str] = []

    def client():
        asked.append("client")
        raise DockerException("Error while fetching server API version: ('Connection aborted.', FileNotFoundError(2))")

    monkeypatch.setattr(stack, "client", client)
    return asked


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _manifest(dumps: dict[str, bytes], project: str = "cercle") -> bytes:
    meta = {name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()} for name, data in dumps.items()}
    return json.dumps({"project": project, "dumps": meta}).encode()


GOOD = {"sessions.dump": b"PGDMP-1", "manifest.json": _manifest({"sessions": b"PGDMP-1"})}

BAD_ARCHIVES = {
    "missing": (None, "no such archive"),
    "not a tar": (b"\x00garbage" * 40, "not a tar archive"),
    "truncated": ("truncated", "not a tar archive"),
    "no manifest": ({"sessions.dump": b"PGDMP-1"}, "no manifest.json"),
    "manifest not JSON": ({"manifest.json": b"{nope"}, "not JSON"),
    "manifest not an object": ({"manifest.json": b"[1]"}, "not an object"),
    "manifest without dumps": ({"manifest.json": b'{"project": "cercle"}'}, "lists no dumps"),
    "a database that is no service's": (
        {"postgres.dump": b"PGDMP", "manifest.json": _manifest({"postgres": b"PGDMP"})},
        "not Cercle services' (postgres)",
    ),
    "a path for a name": (
        {"manifest.json": _manifest({"../../etc/x": b"PGDMP"})},
        "not Cercle services'",
    ),
    "a dump missing": ({"manifest.json": _manifest({"sessions": b"PGDMP-1"})}, "sessions.dump is missing"),
    "a dump without digest": (
        {"sessions.dump": b"x", "manifest.json": b'{"project": "cercle", "dumps": {"sessions": {"bytes": 1}}}'},
        "without its SHA-256",
    ),
    "a wrong digest": (
        {"sessions.dump": b"PGDMP-2", "manifest.json": _manifest({"sessions": b"PGDMP-1"})},
        "does not match its digest",
    ),
}


@pytest.mark.parametrize("case", BAD_ARCHIVES)
def test_a_bad_archive_is_refused_in_one_line_before_docker_or_kafka_is_asked(case, tmp_path, no_docker, capsys):
    content, words = BAD_ARCHIVES[case]
    path = tmp_path / "backup.tar"
    if isinstance(content, dict):
        _tar(path, content)
    elif content == "truncated":
        path.write_bytes(_tar(tmp_path / "whole.tar", GOOD).read_bytes()[:700])
    elif content is not None:
        path.write_bytes(content)
    assert cli.main(["--bootstrap", "127.0.0.1:9", "restore", str(path)]) == cli.EXIT_USAGE
    assert words in one_line(capsys.readouterr().err)
    assert no_docker == []


def test_a_good_archive_goes_on_to_docker_which_is_said_unreachable_in_one_line(tmp_path, no_docker, capsys):
    path = _tar(tmp_path / "backup.tar", GOOD)
    assert cli.main(["restore", str(path)]) == cli.EXIT_UNHEALTHY
    err = one_line(capsys.readouterr().err)
    assert err.startswith("cercle-ops: Docker: ")
    assert no_docker == ["client"]


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["backup", "--out", "somewhere"],
        ["logs", "registration", "--no-follow"],
    ],
)
def test_docker_unreachable_is_one_line_and_exit_1(argv, no_docker, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--bootstrap", "127.0.0.1:9", *argv]) == cli.EXIT_UNHEALTHY
    assert "Docker" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "argv",
    [
        ["dlq", "list", "sessions", "--limit", "0"],
        ["dlq", "list", "sessions", "--limit", "-3"],
        ["dlq", "list", "nosuchservice"],
        ["dlq", "replay", "sessions"],  # neither --id nor --all
        ["status", "--max-lag", "-1"],
        ["status", "--max-backlog", "many"],
        ["restore", "b.tar", "--service", "postgres"],
        ["backup", "--service", "template1"],
        ["nosuchcommand"],
        [],
    ],
)
def test_arguments_the_parser_refuses_exit_2_before_anything_is_asked(argv, no_docker, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == cli.EXIT_USAGE
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("cercle-ops")
    assert no_docker == []


@pytest.mark.parametrize("group", ["sessions", "nosuch=g", "sessions=", "=g"])
def test_a_group_option_that_is_not_service_equals_group_is_named(group, monkeypatch, capsys):
    for service in ("REGISTRATION", "SESSIONS", "NOTIFICATIONS", "INSIGHTS"):
        monkeypatch.setenv(f"CERCLE_KAFKA_PASSWORD_{service}", "x")
    assert cli.main(["--bootstrap", "127.0.0.1:9", "broker", "bootstrap", "--group", group]) == cli.EXIT_USAGE
    assert f"--group {group!r}" in one_line(capsys.readouterr().err)


def test_logs_since_in_words_it_cannot_read_is_refused_before_docker(no_docker, capsys):
    assert cli.main(["logs", "registration", "--since", "yesterday"]) == cli.EXIT_USAGE
    assert "--since" in one_line(capsys.readouterr().err)
    assert no_docker == []


@pytest.mark.parametrize(
    "argv",
    [["dlq", "list", "sessions"], ["dlq", "replay", "sessions", "--all"], ["partner", "revoke-kafka", "acme"]],
)
def test_kafka_unreachable_is_one_line_naming_the_bootstrap_and_exit_1(argv, capsys):
    bootstrap = f"127.0.0.1:{free_port()}"  # nothing listens there
    assert cli.main(["--bootstrap", bootstrap, *argv]) == cli.EXIT_UNHEALTHY
    assert f"Kafka at {bootstrap} unreachable" in one_line(capsys.readouterr().err)


def test_a_backup_whose_dump_fails_leaves_no_archive_behind(tmp_path, monkeypatch):
    postgres = object()
    monkeypatch.setattr(stack, "find_service", lambda client, project, service: postgres)

    def exec_to(container, command, out=None):
        if command[-1] == "sessions":
            return stack.ExecResult(1, b"", b'pg_dump: error: database "sessions" does not exist\n')
        out.write(b"PGDMP")
        return stack.ExecResult(0, b"", b"")

    monkeypatch.setattr(stack, "exec_to", exec_to)
    with pytest.raises(RuntimeError, match="does not exist"):
        stack.backup(object(), "cercle", tmp_path, ["registration", "sessions"])
    assert list(tmp_path.iterdir()) == []


def test_an_error_on_several_lines_is_told_on_one(monkeypatch, capsys):
    def fails(args):
        raise RuntimeError("pg_restore sessions: error one\nerror two\n\x1b[31mred")

    monkeypatch.setattr(cli, "cmd_tls_init", fails)
    assert cli.main(["tls", "init", "--name", "kafka"]) == cli.EXIT_UNHEALTHY
    err = one_line(capsys.readouterr().err)
    assert "error one error two" in err
    assert "\x1b" not in err


def test_an_unexpected_error_is_one_line_too(monkeypatch, capsys):
    def fails(args):
        return 1 / 0

    monkeypatch.setattr(cli, "cmd_tls_init", fails)
    assert cli.main(["tls", "init", "--name", "kafka"]) == cli.EXIT_UNHEALTHY
    assert "unexpected ZeroDivisionError" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("name", ["", "a b", "kafka/x", "999.1.1.1", "-kafka.example.org", "x" * 64 + ".org"])
def test_tls_init_refuses_a_name_no_client_could_match_and_writes_nothing(name, tmp_path, capsys):
    out = tmp_path / "tls"
    assert cli.main(["tls", "init", "--name", "kafka.example.org", f"--name={name}", "--out", str(out)]) == 2
    one_line(capsys.readouterr().err)
    assert not out.exists()


# --- hostile dead letters ------------------------------------------------------------------------------------------

HOSTILE_ERROR = "[/] invalid message: [bold]x\x1b]8;;https://evil.example\x1b\\click\x07 \u202eexe.txt"


def _hostile_letter(**headers: bytes) -> dlq.DeadLetter:
    base = {
        "ce_id": b"[/]e-1",
        "ce_type": b"[red]org.cercle.x\x1b[2J",
        "dlq_error": HOSTILE_ERROR.encode(),
        "dlq_topic": b"cercle.registration.members",
        "dlq_partition": b"[/]",
        "dlq_offset": b"not a number",
        "dlq_attempts": b"\xff",
    }
    base.update(headers)
    return dlq.parse(0, 1, 2**63 - 1, b"\xff", b"\xfe", list(base.items()))


def _render(table) -> str:
    console = Console(width=200, record=True, file=io.StringIO(), force_terminal=True)
    console.print(table)
    return console.export_text(styles=True)


def test_a_dead_letter_with_markup_escapes_and_an_impossible_time_is_listed_as_it_is(capsys):
    letter = _hostile_letter()
    assert letter.at == dlq.EPOCH
    text = _render(cli._letters_table("sessions", [letter]))
    assert "[/]" in text
    for control in ("\x1b]8", "\x1b[2J", "\u202e", "\x07"):
        assert control not in text
    assert "\\x1b" in text
    rows = dlq.summary_rows([letter])
    assert json.loads(json.dumps(rows))[0]["error"] == HOSTILE_ERROR


@pytest.mark.parametrize(
    ("topic", "why"),
    [
        (b"cercle.deadletter.sessions", "not a topic Cercle's services consume"),
        (b"__consumer_offsets", "not a topic Cercle's services consume"),
        (b"partner.acme.x", "not a topic Cercle's services consume"),
    ],
)
def test_a_dead_letter_is_never_replayed_to_a_topic_no_service_consumes(topic, why):
    refusal = _hostile_letter(dlq_topic=topic).replay_refusal()
    assert refusal is not None
    assert why in refusal


def test_a_dead_letter_read_leniently_or_with_header_values_that_are_not_utf8_is_never_replayed():
    refusal = _hostile_letter().replay_refusal()
    assert refusal == "it cannot be put back as it was: header values that are not UTF-8 (dlq_attempts)"
    unreadable = dlq.parse(0, 2, 0, b"k", b"{}", [("dlq_topic", b"cercle.registration.members")], "a header name")
    assert unreadable.replay_refusal() == "it cannot be put back as it was: a header name"
    [outcome] = dlq.replay(KafkaSettings(kafka_bootstrap="127.0.0.1:9"), [unreadable])  # refused before any client
    assert not outcome.replayed


def test_a_partners_consumer_group_name_with_markup_does_not_stop_the_status_view():
    lags = [TopicLag("partner.acme.[/]\x1b[2J", "cercle.program", 5000, 3)]
    snapshot = status.Snapshot("cercle", [], lags=lags)
    findings = status.assess(snapshot)
    for table in (status.lag_table(lags), status.findings_table(findings)):
        text = _render(table)
        assert "partner.acme.[/]\\x1b[2J" in text


def test_printable_keeps_text_and_escapes_only_control_and_format_characters():
    assert printable("Élodie, 3 [x]") == "Élodie, 3 [x]"
    assert printable("a\nb\x1b\u202e") == "a\\nb\\x1b\\u202e"

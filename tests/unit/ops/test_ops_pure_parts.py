"""cercle-ops' pure parts: lag arithmetic, dead-letter parsing and replay rules, the health verdict, the tables,
--since, the backup archive's integrity check, the TLS files and the command line."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import UTC, datetime

import pytest
from cryptography import x509
from kafka import TopicPartition
from rich.console import Console

from cercle_ops import cli, dlq, stack, status, tls
from cercle_ops.lag import TopicLag, lag_by_topic

T = "cercle.registration.members"


def test_lag_is_end_minus_committed_summed_per_topic_and_an_uncommitted_partition_counts_from_its_log_start():
    ends = {TopicPartition(T, 0): 10, TopicPartition(T, 1): 7, TopicPartition(T, 2): 5, TopicPartition("x", 0): 3}
    committed = {TopicPartition(T, 0): 4, TopicPartition(T, 1): 7, TopicPartition("x", 0): -1}
    starts = {TopicPartition(T, 2): 2}
    assert lag_by_topic("g", committed, ends, starts) == [TopicLag("g", T, 6 + 0 + 3, 3), TopicLag("g", "x", 3, 1)]


def test_lag_never_goes_negative_when_the_end_offset_was_read_before_the_commit():
    assert lag_by_topic("g", {TopicPartition(T, 0): 12}, {TopicPartition(T, 0): 10}, {}) == [TopicLag("g", T, 0, 1)]


def _letter(**headers: str) -> dlq.DeadLetter:
    base = {
        "ce_id": "e-1",
        "ce_type": "org.cercle.registration.member.erased.v1",
        "dlq_error": "invalid message: member_id",
        "dlq_consumer": "sessions",
        "dlq_topic": T,
        "dlq_partition": "2",
        "dlq_offset": "41",
        "dlq_attempts": "0",
    }
    base.update(headers)
    return dlq.parse(0, 7, 1_700_000_000_000, b"m-1", b"{}", [(k, v.encode()) for k, v in base.items()])


def test_a_dead_letter_is_read_with_its_error_headers_and_where_it_came_from():
    letter = _letter()
    assert (letter.id, letter.event_id, letter.original_topic, letter.original_position) == ("0-7", "e-1", T, "2/41")
    assert letter.error == "invalid message: member_id"
    assert letter.at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert letter.matches("0-7")
    assert letter.matches("e-1")
    assert not letter.matches("0-8")


def test_a_header_value_that_is_not_utf8_or_missing_does_not_break_the_listing():
    letter = dlq.parse(0, 1, 0, None, None, [("dlq_error", b"\xff boom"), ("ce_id", None)])
    assert letter.error == "\ufffd boom"
    assert letter.event_id == ""


def test_a_replay_keeps_the_original_headers_without_the_dlq_ones_and_says_where_it_came_from():
    headers = dict(_letter().replay_headers())
    assert headers == {
        "ce_id": b"e-1",
        "ce_type": b"org.cercle.registration.member.erased.v1",
        dlq.REPLAYED_FROM: b"sessions:0-7",
    }


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"dlq_topic": ""}, "original topic is unknown"),
        ({"dlq_value_withheld": "personal data"}, "withheld"),
        ({"dlq_value_truncated": "true"}, "value was cut"),
        ({"dlq_key_bytes": "5000"}, "key was cut"),
        ({"dlq_headers_dropped": "3"}, "headers were dropped"),
    ],
)
def test_a_dead_letter_that_lost_part_of_the_record_is_never_replayed(headers, reason):
    refusal = _letter(**headers).replay_refusal()
    assert refusal is not None
    assert reason in refusal


def test_choose_names_the_ids_that_match_nothing():
    letters = [_letter(), dlq.parse(0, 8, 0, None, b"{}", [("ce_id", b"e-2"), ("dlq_topic", T.encode())])]
    chosen, unknown = dlq.choose(letters, ["e-2", "0-7", "nope"])
    assert [x.id for x in chosen] == ["0-7", "0-8"]
    assert unknown == ["nope"]


def _container(service: str, **overrides) -> stack.ContainerState:
    values = {
        "service": service,
        "name": f"cercle-{service}-1",
        "state": "running",
        "health": "healthy",
        "restarts": 0,
        "image": f"cercle/{service}:latest",
        "exit_code": 0,
        "restart_policy": "unless-stopped",
    }
    values.update(overrides)
    return stack.ContainerState(**values)


def _healthy_snapshot() -> status.Snapshot:
    containers = [_container(name) for name in status.EXPECTED]
    containers.append(_container("topics", state="exited", health=None, restart_policy="no"))
    return status.Snapshot(
        "cercle",
        containers,
        lags=[TopicLag("cercle-sessions", T, 3, 3)],
        backlog={"registration": 0, "sessions": 2, "notifications": 0, "insights": 0},
        dead_letters={"registration": 0, "sessions": 0, "notifications": 0, "insights": 0},
    )


def test_a_running_healthy_stack_with_small_lag_and_a_finished_topics_step_is_healthy():
    assert status.assess(_healthy_snapshot()) == []


@pytest.mark.parametrize(
    ("change", "subject", "words"),
    [
        (
            lambda s: s.containers.__setitem__(2, _container("registration", state="exited", exit_code=137)),
            "registration",
            "exited",
        ),
        (lambda s: s.containers.__setitem__(3, _container("sessions", health="unhealthy")), "sessions", "healthcheck"),
        (lambda s: s.containers.__setitem__(3, _container("sessions", health="starting")), "sessions", "starting"),
        (lambda s: s.containers.__setitem__(3, _container("sessions", state="restarting")), "sessions", "restarting"),
        (lambda s: s.containers.pop(0), "kafka", "no container"),
        (
            lambda s: s.containers.__setitem__(
                -1, _container("topics", state="exited", exit_code=1, restart_policy="no")
            ),
            "topics",
            "failed",
        ),
        (lambda s: s.lags.append(TopicLag("cercle-insights", T, 5000, 3)), "cercle-insights " + T, "lag 5000"),
        (lambda s: s.backlog.__setitem__("sessions", 1001), "sessions", "backlog 1001"),
        (lambda s: s.backlog.__setitem__("insights", None), "insights", "unreadable"),
        (lambda s: s.errors.append("Kafka unreachable: timeout"), "cercle-ops", "Kafka unreachable"),
    ],
)
def test_what_makes_a_stack_unhealthy(change, subject, words):
    snapshot = _healthy_snapshot()
    change(snapshot)
    findings = status.assess(snapshot)
    assert not status.healthy(findings)
    assert any(f.subject == subject and words in f.message for f in findings), findings


def test_dead_letters_are_a_warning_that_names_the_command_not_a_failure():
    snapshot = _healthy_snapshot()
    snapshot.dead_letters = {"notifications": 2}
    [finding] = status.assess(snapshot)
    assert finding.severity == "warning"
    assert "cercle-ops dlq list notifications" in finding.message
    assert status.healthy([finding])


def test_restarts_fail_only_above_the_chosen_bound():
    snapshot = _healthy_snapshot()
    snapshot.containers[3] = _container("sessions", restarts=3)
    assert status.healthy(status.assess(snapshot))
    assert not status.healthy(status.assess(snapshot, status.Thresholds(max_restarts=2)))


def _render(table) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


def test_the_status_table_has_one_row_per_container_with_outbox_and_dead_letters():
    snapshot = _healthy_snapshot()
    snapshot.containers[3] = _container("sessions", health="unhealthy", restarts=4)
    snapshot.dead_letters = {"sessions": 5}
    text = _render(status.containers_table(snapshot))
    [row] = [line for line in text.splitlines() if "│ sessions" in line]
    for cell in ("running", "unhealthy", "4", "cercle/sessions:latest", "2", "5", "healthcheck failing"):
        assert cell in row
    assert "done (exit 0)" in text  # the topics step
    assert "cercle-sessions" in _render(status.lag_table(snapshot.lags))


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400)])
def test_since_reads_seconds_minutes_hours_days(text, seconds):
    assert stack.since_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "15x", "-5m", "1.5h"])
def test_since_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError, match="--since"):
        stack.since_seconds(text)


def _archive(tmp_path, dumps: dict[str, bytes], manifest_dumps: dict | None = None):
    import hashlib

    path = tmp_path / stack.archive_name("cercle", datetime(2026, 11, 26, 9, 30, tzinfo=UTC))
    manifest = {
        "project": "cercle",
        "dumps": manifest_dumps
        or {k: {"bytes": len(v), "sha256": hashlib.sha256(v).hexdigest()} for k, v in dumps.items()},
    }
    with tarfile.open(path, "w") as tar:
        for name, data in {
            **{f"{k}.dump": v for k, v in dumps.items()},
            "manifest.json": json.dumps(manifest).encode(),
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_an_archive_is_dated_and_its_dumps_are_checked_against_their_digests(tmp_path):
    path = _archive(tmp_path, {"registration": b"PGDMP-1", "sessions": b"PGDMP-2"})
    assert path.name == "cercle-backup-cercle-20261126T093000Z.tar"
    manifest, dumps = stack.read_archive(path)
    assert dumps == {"registration": b"PGDMP-1", "sessions": b"PGDMP-2"}
    assert manifest["project"] == "cercle"


def test_a_damaged_archive_is_refused_before_anything_is_restored(tmp_path):
    path = _archive(tmp_path, {"registration": b"PGDMP-1"}, {"registration": {"bytes": 7, "sha256": "00" * 32}})
    with pytest.raises(ValueError, match="digest"):
        stack.read_archive(path)


def test_tls_init_makes_a_ca_and_a_broker_certificate_it_signed_for_the_names_given(tmp_path):
    files = tls.init(tmp_path, ["kafka.example.org", "127.0.0.1"])
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    leaf = x509.load_pem_x509_certificate(files.broker_cert.read_bytes())
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["kafka.example.org"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    keystore = files.keystore.read_text()
    assert keystore.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, as Kafka's PEM keystore wants
    assert keystore.count("BEGIN CERTIFICATE") == 2
    assert files.keystore.stat().st_mode & 0o777 == 0o600
    assert files.ca_key.stat().st_mode & 0o777 == 0o600
    assert "kafka.example.org" in tls.describe(files)["names"]


def test_tls_init_never_replaces_a_ca_unless_forced(tmp_path):
    tls.init(tmp_path, ["kafka"])
    with pytest.raises(FileExistsError):
        tls.init(tmp_path, ["kafka"])
    tls.init(tmp_path, ["kafka"], force=True)


def test_the_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in ("status", "dlq", "backup", "restore", "partner", "logs", "broker", "tls"):
        assert command in out


def test_broker_bootstrap_without_the_services_passwords_names_the_missing_variables(monkeypatch, capsys):
    for service in ("REGISTRATION", "SESSIONS", "NOTIFICATIONS", "INSIGHTS"):
        monkeypatch.delenv(f"CERCLE_KAFKA_PASSWORD_{service}", raising=False)
    assert cli.main(["--bootstrap", "127.0.0.1:9", "broker", "bootstrap"]) == cli.EXIT_USAGE
    assert "CERCLE_KAFKA_PASSWORD_SESSIONS" in capsys.readouterr().err


def test_the_host_listener_of_compose_is_the_default_bootstrap(monkeypatch):
    monkeypatch.delenv("CERCLE_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.setenv("CERCLE_KAFKA_PORT", "29092")
    args = cli.parser().parse_args(["status"])
    assert cli.kafka_settings(args).kafka_bootstrap == "127.0.0.1:29092"
    args = cli.parser().parse_args(["--bootstrap", "kafka:9092", "status"])
    assert cli.kafka_settings(args).kafka_bootstrap == "kafka:9092"


def test_a_partner_name_that_is_not_a_plain_word_is_refused_by_the_cli(capsys):
    assert cli.main(["--bootstrap", "127.0.0.1:9", "partner", "grant-kafka", "Acme Corp"]) == cli.EXIT_USAGE
    assert "organization" in capsys.readouterr().err

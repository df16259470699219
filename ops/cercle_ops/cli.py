"""cercle-ops: the operator's CLI next to a compose deployment of Cercle.

Kafka is reached as the admin principal with the same variables the services read: CERCLE_KAFKA_BOOTSTRAP
(default 127.0.0.1:$CERCLE_KAFKA_PORT, the host listener compose publishes, 19092), CERCLE_KAFKA_SECURITY_PROTOCOL,
CERCLE_KAFKA_SASL_USERNAME (cercle-admin), CERCLE_KAFKA_SASL_PASSWORD, CERCLE_KAFKA_SSL_CAFILE. Docker is reached
as the `docker` CLI does (DOCKER_HOST or the local socket); the compose project is --project or
COMPOSE_PROJECT_NAME (default cercle).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cercle_shared.contracts.topics import SERVICES
from cercle_shared.settings import KafkaSettings

from .text import cell, printable

EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_USAGE = 2


def kafka_settings(args: argparse.Namespace) -> KafkaSettings:
    overrides: dict[str, Any] = {}
    if args.bootstrap:
        overrides["kafka_bootstrap"] = args.bootstrap
    elif "CERCLE_KAFKA_BOOTSTRAP" not in os.environ:
        overrides["kafka_bootstrap"] = f"127.0.0.1:{os.environ.get('CERCLE_KAFKA_PORT', '19092')}"
    return KafkaSettings(**overrides)


def _console() -> Console:
    return Console(width=max(120, Console().width))


# --- broker -----------------------------------------------------------------------------------------------------


def cmd_broker_bootstrap(args: argparse.Namespace) -> int:
    from . import broker

    settings = kafka_settings(args)
    passwords = broker.service_passwords_from_env(os.environ)
    groups = service_groups(args.group)
    report = broker.bootstrap(settings, passwords, groups=groups, timeout=args.timeout)
    print(
        f"broker ready: {len(report.topics_created)} topic(s) created, credentials set for "
        f"{', '.join(report.credentials_set)}; ACLs {report.acls_added} added, {report.acls_removed} removed"
    )
    return EXIT_OK


def service_groups(items: Sequence[str]) -> dict[str, str]:
    """--group SERVICE=GROUP options as {service: group}; ValueError naming the option at fault."""
    groups: dict[str, str] = {}
    for item in items:
        service, sep, group = item.partition("=")
        if not sep or service not in SERVICES or not group.strip():
            raise ValueError(f"--group {item!r}: write SERVICE=GROUP, SERVICE one of {', '.join(SERVICES)}")
        groups[service] = group.strip()
    return groups


def cmd_partner_grant(args: argparse.Namespace) -> int:
    from . import broker

    credentials = broker.grant_partner(kafka_settings(args), args.org)
    console = _console()
    table = Table(title=f"Kafka access for partner {args.org} (the password is shown once: store it now)")
    table.add_column("setting")
    table.add_column("value")
    table.add_row("security.protocol", "SASL_SSL")
    table.add_row("sasl.mechanism", "SCRAM-SHA-512")
    table.add_row("sasl.username", credentials.username)
    table.add_row("sasl.password", credentials.password)
    table.add_row("group.id", f"{credentials.group_prefix}<anything>")
    table.add_row("topics (read)", "\n".join(credentials.topics))
    console.print(table)
    return EXIT_OK


def cmd_partner_revoke(args: argparse.Namespace) -> int:
    from . import broker

    had, removed = broker.revoke_partner(kafka_settings(args), args.org)
    print(f"partner {args.org}: credential {'deleted' if had else 'absent'}, {removed} ACL(s) removed")
    return EXIT_OK


# --- dead letters -----------------------------------------------------------------------------------------------


def _letters_table(service: str, letters: Sequence[Any]) -> Table:
    from . import dlq

    table = Table(title=f"dead letters of {service} ({len(letters)})")
    rows = dlq.summary_rows(letters)
    for column in ("id", "at", "from", "type", "event id", "attempts", "error", "replayable"):
        short = column in ("id", "at", "attempts", "replayable")
        table.add_column(column, no_wrap=short, overflow="fold", min_width=30 if column == "error" else None)
    for row in rows:
        table.add_row(*(cell(value) for value in row.values()))
    return table


def cmd_dlq_list(args: argparse.Namespace) -> int:
    from . import dlq

    letters = dlq.read(kafka_settings(args), args.service, limit=args.limit)
    if args.json:
        print(json.dumps(dlq.summary_rows(letters), indent=2))
    else:
        _console().print(_letters_table(args.service, letters))
    return EXIT_OK


def cmd_dlq_replay(args: argparse.Namespace) -> int:
    from . import dlq

    settings = kafka_settings(args)
    letters = dlq.read(settings, args.service)
    unknown: list[str] = []
    if args.all:
        chosen = letters
    else:
        chosen, unknown = dlq.choose(letters, args.id)
    if unknown:
        print(printable(f"cercle-ops: no dead letter of {args.service} with id {', '.join(unknown)}"), file=sys.stderr)
        return EXIT_USAGE
    if args.dry_run:
        _console().print(_letters_table(args.service, chosen))
        return EXIT_OK
    outcomes = dlq.replay(settings, chosen)
    for outcome in outcomes:
        letter = outcome.letter
        if outcome.replayed:
            print(printable(f"replayed {letter.id} ({letter.event_type or 'record'}) to {letter.original_topic}"))
        else:
            print(printable(f"skipped {letter.id}: {outcome.reason}"))
    return EXIT_OK if all(o.replayed for o in outcomes) else EXIT_UNHEALTHY


# --- docker-facing ----------------------------------------------------------------------------------------------


def collect(args: argparse.Namespace) -> Any:
    from . import broker, lag, stack, status

    docker_client = stack.client()
    containers = [stack.container_state(c) for c in stack.project_containers(docker_client, args.project)]
    snapshot = status.Snapshot(args.project, containers)
    try:
        postgres = stack.find_service(docker_client, args.project, stack.POSTGRES)
        if postgres.status == "running":
            snapshot.backlog = stack.outbox_backlog(postgres)
    except LookupError:
        pass
    try:
        admin = broker.admin_client(kafka_settings(args), bootstrap_timeout_ms=10000)
    except Exception as exc:
        snapshot.errors.append(f"Kafka unreachable: {exc}")
        return snapshot
    try:
        snapshot.lags = lag.group_lags(admin, lag.consumer_groups(admin))
        snapshot.dead_letters = lag.dead_letter_counts(admin)
    except Exception as exc:
        snapshot.errors.append(f"Kafka offsets unreadable: {exc}")
    finally:
        admin.close()
    return snapshot


def cmd_status(args: argparse.Namespace) -> int:
    from . import status

    thresholds = status.Thresholds(max_lag=args.max_lag, max_backlog=args.max_backlog, max_restarts=args.max_restarts)
    snapshot = collect(args)
    findings = status.assess(snapshot, thresholds)
    ok = status.healthy(findings)
    if args.json:
        print(
            json.dumps(
                {
                    "project": snapshot.project,
                    "healthy": ok,
                    "containers": [c.__dict__ for c in snapshot.containers],
                    "lag": [lag.__dict__ for lag in snapshot.lags],
                    "outbox_backlog": dict(snapshot.backlog),
                    "dead_letters": dict(snapshot.dead_letters),
                    "findings": [f.__dict__ for f in findings],
                },
                indent=2,
            )
        )
    else:
        console = _console()
        console.print(status.containers_table(snapshot, thresholds))
        console.print(status.lag_table(snapshot.lags))
        if findings:
            console.print(status.findings_table(findings))
        console.print("healthy" if ok else "UNHEALTHY")
    return EXIT_OK if ok else EXIT_UNHEALTHY


def cmd_backup(args: argparse.Namespace) -> int:
    from . import stack

    made = stack.backup(stack.client(), args.project, Path(args.out), args.service or SERVICES)
    sizes = ", ".join(f"{name} {meta['bytes']} B" for name, meta in made.manifest["dumps"].items())
    print(f"{made.path} ({sizes})")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from . import erasures, stack

    path = Path(args.archive)
    contents = stack.read_archive(path)  # a wrong archive is refused before Docker or Kafka is asked anything
    try:
        restored = stack.restore(
            stack.client(),
            args.project,
            path,
            args.service or None,
            read_erasures=lambda: erasures.read(kafka_settings(args)),
            stop_services=not args.no_stop,
            contents=contents,
            other_project=args.other_project,
        )
    except stack.RestoreIncomplete as exc:
        print(f"cercle-ops: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_UNHEALTHY
    print(f"restored {', '.join(restored.services)} from {path.name}")
    for service, report in restored.applied.items():
        print(f"  {printable(report or service)}")
    return EXIT_OK


def cmd_logs(args: argparse.Namespace) -> int:
    from . import stack

    seconds = stack.since_seconds(args.since)
    out = sys.stdout.buffer
    try:
        for chunk in stack.logs(stack.client(), args.project, args.service, since=seconds, follow=not args.no_follow):
            out.write(chunk)
            out.flush()
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def cmd_tls_init(args: argparse.Namespace) -> int:
    from . import tls

    files = tls.init(Path(args.out), args.name, force=args.force)
    described = tls.describe(files)
    print(f"CA for partners: {files.ca_cert}\nbroker keystore (PEM, ssl.keystore.type=PEM): {files.keystore}")
    print(f"broker certificate: {described['names']}; valid until {described['not_after']}")
    print(f"SHA-256 fingerprint: {described['sha256']}")
    return EXIT_OK


# --- parser -----------------------------------------------------------------------------------------------------


def _count(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="cercle-ops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    top.add_argument("--project", default=os.environ.get("COMPOSE_PROJECT_NAME", "cercle"), help="compose project")
    top.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (default: see above)")
    top.add_argument("--verbose", action="store_true", help="show the Kafka clients' own logs")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    status = commands.add_parser(
        "status", help="containers, consumer lag, outbox backlog, dead letters; exit 1 when unhealthy"
    )
    status.add_argument(
        "--max-lag", type=_count(0), default=1000, help="lag of a group on a topic above which: unhealthy"
    )
    status.add_argument(
        "--max-backlog", type=_count(0), default=1000, help="unpublished outbox rows above which: unhealthy"
    )
    status.add_argument(
        "--max-restarts", type=_count(0), default=None, help="container restarts above which: unhealthy"
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(run=cmd_status)

    dlq = commands.add_parser("dlq", help="dead letters of a service").add_subparsers(dest="dlq", required=True)
    listing = dlq.add_parser("list", help="show dead letters with their error headers")
    listing.add_argument("service", choices=SERVICES)
    listing.add_argument("--limit", type=_count(1), default=None, help="only the newest N")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_dlq_list)
    replay = dlq.add_parser("replay", help="re-publish chosen dead letters to their original topic")
    replay.add_argument("service", choices=SERVICES)
    chosen = replay.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--id", action="append", default=[], help="a dead letter's id (from `dlq list`) or event id")
    chosen.add_argument("--all", action="store_true", help="every dead letter the topic holds")
    replay.add_argument("--dry-run", action="store_true", help="show what would be replayed")
    replay.set_defaults(run=cmd_dlq_replay)

    backup = commands.add_parser("backup", help="pg_dump every service's database into a dated archive")
    backup.add_argument("--out", default="backups", help="directory of the archives (default ./backups)")
    backup.add_argument("--service", action="append", choices=SERVICES, help="only this service (repeatable)")
    backup.set_defaults(run=cmd_backup)
    restore = commands.add_parser(
        "restore",
        help="pg_restore databases from an archive, then re-apply every erasure since (stops those services)",
        description="Stop the chosen services, read every MemberErased event from the members topic (as the admin "
        "principal: Kafka must be reachable), pg_restore each database, run `cercle-<service> reapply-erasures` in a "
        "one-off container of each service, then start them. A service whose erasures could not be re-applied is "
        "left stopped (exit 1).",
    )
    restore.add_argument("archive")
    restore.add_argument("--service", action="append", choices=SERVICES, help="only this service (repeatable)")
    restore.add_argument(
        "--other-project",
        action="store_true",
        help="restore an archive taken from another compose project (refused otherwise)",
    )
    restore.add_argument(
        "--no-stop",
        action="store_true",
        help="leave the services running while restoring (they may serve erased "
        "members until their erasures are re-applied)",
    )
    restore.set_defaults(run=cmd_restore)

    partner = commands.add_parser("partner", help="partners' direct Kafka access").add_subparsers(
        dest="partner", required=True
    )
    grant = partner.add_parser("grant-kafka", help="SCRAM credentials (printed once), read on partner topics")
    grant.add_argument("org", help="the organization's short name: lower-case letters, digits, - and _")
    grant.set_defaults(run=cmd_partner_grant)
    revoke = partner.add_parser("revoke-kafka", help="delete the partner's credential and ACLs")
    revoke.add_argument("org")
    revoke.set_defaults(run=cmd_partner_revoke)

    logs = commands.add_parser("logs", help="a service's logs since a while ago, then follow them")
    logs.add_argument("service")
    logs.add_argument("--since", default="10m", help="how far back: 90s, 15m, 2h, 1d (default 10m)")
    logs.add_argument("--no-follow", action="store_true", help="print and exit")
    logs.set_defaults(run=cmd_logs)

    broker = commands.add_parser("broker", help="the secured broker").add_subparsers(dest="broker", required=True)
    boot = broker.add_parser(
        "bootstrap",
        help="topics, services' SCRAM credentials and ACLs (idempotent; as the admin principal)",
        description="Create the topics, set each service's SCRAM-SHA-512 credential from CERCLE_KAFKA_PASSWORD_"
        "<SERVICE> (REGISTRATION, SESSIONS, NOTIFICATIONS, INSIGHTS) and make each service principal's ACLs exactly "
        "the table's. Run as the admin: CERCLE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT, "
        "CERCLE_KAFKA_SASL_USERNAME=cercle-admin, CERCLE_KAFKA_SASL_PASSWORD.",
    )
    boot.add_argument(
        "--group", action="append", default=[], metavar="SERVICE=GROUP", help="a service's CERCLE_CONSUMER_GROUP"
    )
    boot.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the broker")
    boot.set_defaults(run=cmd_broker_bootstrap)

    tls = commands.add_parser("tls", help="the partners' TLS listener").add_subparsers(dest="tls", required=True)
    init = tls.add_parser("init", help="a CA and the broker's certificate (PEM keystore)")
    init.add_argument("--out", default="tls", help="directory (default ./tls)")
    init.add_argument(
        "--name", action="append", required=True, help="a host name or IP partners connect to (repeatable)"
    )
    init.add_argument("--force", action="store_true", help="replace an existing CA")
    init.set_defaults(run=cmd_tls_init)
    return top


def _one_line(text: str) -> str:
    return printable(" ".join(text.split()))


def failure(exc: BaseException, args: argparse.Namespace) -> tuple[str, int]:
    """What to tell the operator about an error (one line) and the exit code: 2 for what the operator can correct
    in the command (an archive, a name, an argument), 1 for a part of the deployment that failed or is unreachable."""
    from aiokafka.errors import KafkaError as AIOKafkaError
    from docker.errors import DockerException
    from kafka.errors import KafkaError

    message = _one_line(str(exc))
    if message in ("", type(exc).__name__):
        message = type(exc).__name__
    if isinstance(exc, (ValueError, LookupError, FileExistsError)):
        return message, EXIT_USAGE
    if isinstance(exc, DockerException):
        return f"Docker: {message} (is the engine running, is DOCKER_HOST right?)", EXIT_UNHEALTHY
    if isinstance(exc, (KafkaError, AIOKafkaError)):
        try:
            where = kafka_settings(args).kafka_bootstrap
        except ValueError:
            where = "?"
        named = message if message.startswith(type(exc).__name__) else f"{type(exc).__name__}: {message}"
        return f"Kafka at {where} unreachable or refused: {named}", EXIT_UNHEALTHY
    if isinstance(exc, (OSError, RuntimeError)):  # files, timeouts, a command that failed in a container
        return f"{type(exc).__name__}: {message}", EXIT_UNHEALTHY
    return f"unexpected {type(exc).__name__}: {message}", EXIT_UNHEALTHY


@contextmanager
def _quiet_clients(verbose: bool) -> Iterator[None]:
    """The Kafka clients log each failed connection: the operator gets the one line that says what failed instead,
    unless --verbose."""
    loggers = [logging.getLogger(name) for name in CLIENT_LOGGERS]
    levels = [logger.level for logger in loggers]
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    else:
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


CLIENT_LOGGERS = ("aiokafka", "kafka", "cercle_shared.messaging")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with _quiet_clients(args.verbose):
            return int(args.run(args))
    except KeyboardInterrupt:
        print("cercle-ops: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the operator: one line that says what failed
        message, code = failure(exc, args)
        print(f"cercle-ops: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())

"""`cercle-ops status`: containers, consumer lag, outbox backlog and dead letters in one view, and one verdict.

The verdict is pure (`assess`), so that what counts as unhealthy is tested without an engine or a broker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rich.table import Table

from cercle_shared.contracts.topics import SERVICES

from .lag import TopicLag
from .stack import ContainerState
from .text import cell

EXPECTED = ("kafka", "postgres", *SERVICES)


@dataclass(frozen=True)
class Thresholds:
    max_lag: int = 1000
    max_backlog: int = 1000
    max_restarts: int | None = None  # None: restarts are shown, never a failure on their own


@dataclass
class Snapshot:
    project: str
    containers: list[ContainerState]
    lags: list[TopicLag] = field(default_factory=list)
    backlog: Mapping[str, int | None] = field(default_factory=dict)
    dead_letters: Mapping[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # parts that could not be read (broker, database)


@dataclass(frozen=True)
class Finding:
    severity: str  # "unhealthy" or "warning"
    subject: str
    message: str


def container_finding(c: ContainerState, thresholds: Thresholds) -> Finding | None:
    if c.one_shot:
        if c.state == "exited" and c.exit_code != 0:
            return Finding("unhealthy", c.service, f"one-shot step failed (exit {c.exit_code})")
        return None
    if c.state != "running":
        return Finding("unhealthy", c.service, f"{c.state} (exit {c.exit_code})")
    if c.health == "unhealthy":
        return Finding("unhealthy", c.service, "healthcheck failing")
    if c.health == "starting":
        return Finding("unhealthy", c.service, "not healthy yet (starting)")
    if thresholds.max_restarts is not None and c.restarts > thresholds.max_restarts:
        return Finding("unhealthy", c.service, f"restarted {c.restarts} times")
    return None


def assess(snapshot: Snapshot, thresholds: Thresholds = Thresholds()) -> list[Finding]:
    findings: list[Finding] = []
    present = {c.service for c in snapshot.containers}
    findings += [Finding("unhealthy", name, "no container") for name in EXPECTED if name not in present]
    findings += [f for c in snapshot.containers if (f := container_finding(c, thresholds)) is not None]
    findings += [
        Finding("unhealthy", f"{lag.group} {lag.topic}", f"lag {lag.lag} > {thresholds.max_lag}")
        for lag in snapshot.lags
        if lag.lag > thresholds.max_lag
    ]
    for service, rows in snapshot.backlog.items():
        if rows is None:
            findings.append(Finding("unhealthy", service, "outbox unreadable"))
        elif rows > thresholds.max_backlog:
            findings.append(Finding("unhealthy", service, f"outbox backlog {rows} > {thresholds.max_backlog}"))
    findings += [
        Finding("warning", service, f"{count} dead letter(s): cercle-ops dlq list {service}")
        for service, count in snapshot.dead_letters.items()
        if count
    ]
    findings += [Finding("unhealthy", "cercle-ops", error) for error in snapshot.errors]
    return findings


def healthy(findings: Iterable[Finding]) -> bool:
    return not any(f.severity == "unhealthy" for f in findings)


def containers_table(snapshot: Snapshot, thresholds: Thresholds = Thresholds()) -> Table:
    table = Table(title=f"compose project {snapshot.project}")
    for column in ("service", "state", "health", "restarts", "image", "outbox", "dead letters", "verdict"):
        table.add_column(column, justify="right" if column in ("restarts", "outbox", "dead letters") else "left")
    for c in sorted(snapshot.containers, key=lambda c: (c.service not in EXPECTED, c.service)):
        finding = container_finding(c, thresholds)
        backlog = snapshot.backlog.get(c.service, "")
        table.add_row(
            *map(
                cell,
                (
                    c.service,
                    c.state if not (c.one_shot and c.state == "exited") else f"done (exit {c.exit_code})",
                    c.health or "-",
                    str(c.restarts),
                    c.image,
                    "?" if backlog is None else str(backlog),
                    str(snapshot.dead_letters.get(c.service, "")),
                    "ok" if finding is None else finding.message,
                ),
            )
        )
    return table


def lag_table(lags: Iterable[TopicLag]) -> Table:
    table = Table(title="consumer lag")
    table.add_column("group")
    table.add_column("topic")
    table.add_column("partitions", justify="right")
    table.add_column("lag", justify="right")
    for lag in lags:
        table.add_row(cell(lag.group), cell(lag.topic), str(lag.partitions), str(lag.lag))
    return table


def findings_table(findings: Iterable[Finding]) -> Table:
    table = Table(title="findings")
    table.add_column("severity")
    table.add_column("subject")
    table.add_column("message")
    for f in findings:
        table.add_row(cell(f.severity), cell(f.subject), cell(f.message))
    return table

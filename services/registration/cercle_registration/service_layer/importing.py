"""Bulk import of members and their memberships from CSV: every row checked, all kept or none.

Two phases, so that an import never holds the database's write lock for long (on SQLite there is one for the
whole database, and a long import once made every other write wait, then fail):

1. **Check** every row with reads only: the domain's rules for each member and membership, then, in a few
   batched queries, the emails already taken, the organizations and communities named. A dry run stops here: it
   never writes, so it never takes the write lock. Any refused row stops a real import here too, before anything
   is written.
2. **Write** the checked rows in chunks of `chunk_rows` rows, each chunk one short transaction that checks its
   rows again (a concurrent request may have taken an email, deleted an organization or closed a community since
   phase 1) and writes its members, memberships and their events. Between chunks the import pauses a moment, so
   that writers waiting for the lock get it.

If a chunk loses such a race, the chunks already written are undone: their members are erased (the same erasure
as Law 25's, in short transactions), so that the other services, which may already have received the members'
events, follow with MemberErased. Nothing of the import is kept, and the row at fault is reported. The same undo
follows any other failure while writing (a database still busy after its timeout: a 503).

So that a process stopped midway does not leave half an import either, each chunk's transaction also records which
members the import wrote so far (a MemberImport row, deleted with the last chunk); the `undo-interrupted-imports`
job undoes an import whose record saw no chunk for `import_stall_timeout` (10 minutes by default).
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from cercle_shared.errors import CercleError, Conflict, Forbidden, InvalidInput, StaleVersion, Unavailable
from cercle_shared.principal import Principal

from ..domain import model
from ..domain.regions import RegionCatalog
from . import access
from .erasure import erase
from .members import RegisterMember
from .unit_of_work import RegistrationUnitOfWork

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("email", "display_name", "consent_processing")
OPTIONAL_COLUMNS = (
    "language",
    "region",
    "organization_id",
    "job_title",
    "expertise",
    "consent_directory",
    "consent_email",
    "consent_surveys",
    "communities",
    "role",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
LIST_SEPARATOR = "|"  # inside a cell: expertise and communities (the file itself may be comma- or semicolon-separated)
ID_MAX_LENGTH = 36  # the id columns': a longer value, or one with a NUL, names nothing and PostgreSQL cannot bind it
MAX_ROWS = 10_000
TRUE = {"1", "true", "yes", "y", "oui", "o", "x"}
FALSE = {"0", "false", "no", "n", "non", ""}
CONSENT_DEFAULTS = {"processing": False, "directory": False, "email": True, "surveys": False}

CHUNK_ROWS = 50
"""Rows written per transaction: the longest the import holds the write lock is the time to write this many
(with their 7 events each, about 0.1 to 0.4 s)."""
CHUNK_PAUSE = 0.1
"""Seconds between two chunks, so that a writer waiting for the lock (SQLite polls every 100 ms at most) gets it."""
UNDO_ATTEMPTS = 5
YIELD_EVERY = 20
"""Rows checked between two hand-overs of the interpreter: checking is pure Python, and without them a 10,000-row
check starved the requests served next to it (seconds per registration instead of a fraction of one)."""

Progress = Callable[[int], None]
T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    row: int  # line in the file where the row starts; the header is line 1
    field: str | None
    message: str


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    members: int = 0  # members the valid rows create (written only when committed)
    memberships: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False
    undone: int = 0  # members written, then erased again because a later chunk lost a race

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class CheckedRow:
    """A row that passed every check: the member and memberships it creates, events recorded, not yet written."""

    line: int
    member: model.Member
    memberships: tuple[model.Membership, ...]


class _Refused(Exception):
    """A row refused while writing: a concurrent request changed what phase 1 had checked."""

    def __init__(self, line: int, error: CercleError) -> None:
        super().__init__(error.detail)
        self.line = line
        self.error = error


def parse_csv(text: str) -> list[Row]:
    """Rows of a CSV file with a header line; a file-level problem is an InvalidInput naming `file`.

    A row's line is the line where it starts (a quoted cell may span lines)."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InvalidInput("the file is empty", field="file")
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        unknown = [h for h in header if h not in COLUMNS]
        if unknown:
            raise InvalidInput(f"unknown columns {unknown}; expected some of {list(COLUMNS)}", field="file")
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise InvalidInput(f"missing columns {missing}", field="file")
        if len(set(header)) != len(header):
            raise InvalidInput("a column is named twice", field="file")
        ended = reader.line_num
        for cells in reader:
            line, ended = ended + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            if len(cells) > len(header):
                rows.append(Row(line, {"__extra__": "x"}))
            else:
                rows.append(Row(line, {name: cell.strip() for name, cell in zip(header, cells, strict=False)}))
            if len(rows) > MAX_ROWS:
                raise InvalidInput(f"at most {MAX_ROWS} rows per import", field="file")
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV near line {reader.line_num}: {exc}", field="file") from exc
    return rows


def import_members(
    text: str,
    uow: RegistrationUnitOfWork,
    principal: Principal,
    regions: RegionCatalog,
    *,
    dry_run: bool,
    progress: Progress | None = None,
    rows: list[Row] | None = None,
    clock: model.Clock = model.now,
    chunk_rows: int | None = None,
    chunk_pause: float | None = None,
) -> ImportReport:
    """Check every row (reads only); unless it is a dry run, or a row is refused, write them all in short chunks.

    `progress(n)` is called as rows are checked, then as they are written (twice the rows for a real import)."""
    access.check_import_members(principal)
    rows = parse_csv(text) if rows is None else rows
    report = ImportReport(dry_run=dry_run, rows=len(rows))
    checked = check_rows(rows, uow, principal, regions, report, clock=clock, progress=progress)
    if dry_run or not report.ok:
        return report
    chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
    chunk_pause = CHUNK_PAUSE if chunk_pause is None else chunk_pause
    write_rows(
        checked, uow, principal, report, clock=clock, progress=progress, chunk_rows=chunk_rows, pause=chunk_pause
    )
    return report


# --- phase 1: check, with reads only ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    row: Row
    cmd: RegisterMember
    email: str
    community_ids: list[str]
    role: str


def check_rows(
    rows: Sequence[Row],
    uow: RegistrationUnitOfWork,
    principal: Principal,
    regions: RegionCatalog,
    report: ImportReport,
    *,
    clock: model.Clock = model.now,
    progress: Progress | None = None,
) -> list[CheckedRow]:
    """Every row against the domain's rules and against the database (read in a few batches); refusals go to
    `report`. Nothing is added to the unit of work and nothing is flushed: this never takes the write lock.

    The members and memberships come back with their events recorded in row order, ready to be written."""
    candidates: list[_Candidate] = []
    first_line_of: dict[str, int] = {}
    for n, row in enumerate(rows):
        _let_others_run(n)
        try:
            candidates.append(_candidate(row, principal, regions, first_line_of))
        except CercleError as exc:
            _refuse(report, row.line, exc)
    with uow:
        taken = uow.members.emails_taken(c.email for c in candidates)
        organizations = uow.organizations.existing(c.cmd.organization_id for c in candidates)
        communities = uow.communities.get_many(i for c in candidates for i in c.community_ids)
    checked: list[CheckedRow] = []
    for n, candidate in enumerate(candidates):
        _let_others_run(n)
        try:
            checked.append(_check(candidate, principal, taken, organizations, communities, clock()))
        except CercleError as exc:
            _refuse(report, candidate.row.line, exc)
        if progress:
            progress(1)
    if progress:
        progress(len(rows) - len(candidates))
    report.errors.sort(key=lambda e: e.row)
    report.members = len(checked)
    report.memberships = sum(len(c.memberships) for c in checked)
    return checked if report.ok else []


def _let_others_run(n: int) -> None:
    if n % YIELD_EVERY == 0:
        time.sleep(0)  # releases the GIL: the threads serving other requests run now rather than after the check


def _candidate(row: Row, principal: Principal, regions: RegionCatalog, first_line_of: dict[str, int]) -> _Candidate:
    cmd, community_ids, role = _command(row)
    email = model.normalize_email(cmd.email)
    if email in first_line_of:
        raise InvalidInput(f"the same email is on line {first_line_of[email]}", field="email")
    first_line_of[email] = row.line
    regions.check(cmd.region)
    if not principal.covers_region(cmd.region):
        raise Forbidden("outside your regions", field="region")
    # Checked before the batched look-ups of organizations and communities, which would send them to the database.
    _check_ids([cmd.organization_id] if cmd.organization_id else [], "organization_id")
    _check_ids(community_ids, "communities")
    return _Candidate(row, cmd, email, community_ids, role)


def _check_ids(values: list[str], column: str) -> None:
    for value in values:
        if len(value) > ID_MAX_LENGTH or any(ord(c) < 32 or c == "\x7f" or "\ud800" <= c <= "\udfff" for c in value):
            raise InvalidInput(f"{value[:40]!r} is not an id", field=column)


def _check(
    candidate: _Candidate,
    principal: Principal,
    taken: set[str],
    organizations: set[str],
    communities: dict[str, model.Community],
    at: datetime,
) -> CheckedRow:
    cmd = candidate.cmd
    member = model.Member.register(
        display_name=cmd.display_name,
        email=cmd.email,
        language=cmd.language,
        region=cmd.region,
        organization_id=cmd.organization_id,
        job_title=cmd.job_title,
        expertise=cmd.expertise,
        consents=cmd.consents,
        at=at,
    )
    if member.organization_id is not None and member.organization_id not in organizations:
        raise InvalidInput("no such organization", field="organization_id")
    if member.email in taken:
        raise Conflict("a member with this email already exists", field="email")
    memberships: dict[str, model.Membership] = {}
    for community_id in candidate.community_ids:
        community = communities.get(community_id)
        if community is None:
            raise InvalidInput(f"no such community {community_id!r}", field="communities")
        if not access.may_manage_community(principal, community):
            raise Forbidden(f"you may not add members to community {community_id!r}", field="communities")
        try:  # the same community twice on a row is joining twice
            membership = model.join(community, member, candidate.role, memberships.get(community_id), at=at)
        except CercleError as exc:
            raise type(exc)(f"community {community_id!r}: {exc.detail}", field="communities") from exc
        memberships[community_id] = membership
    return CheckedRow(candidate.row.line, member, tuple(memberships.values()))


# --- phase 2: write in short chunks, undo on a lost race -----------------------------------------------------------


class _Interrupted(Exception):
    """The import's record is gone or changed under it: `undo-interrupted-imports` took it for stalled."""


def write_rows(
    checked: Sequence[CheckedRow],
    uow: RegistrationUnitOfWork,
    principal: Principal,
    report: ImportReport,
    *,
    clock: model.Clock = model.now,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
    pause: float = CHUNK_PAUSE,
) -> None:
    """Write the checked rows, `chunk_rows` a transaction; if one chunk fails, erase what the others wrote.

    Each chunk also records, in its own transaction, which members the import wrote so far (MemberImport); the
    last chunk deletes that record. A record left behind (the process stopped midway) is undone by the
    `undo-interrupted-imports` job."""
    chunks = list(_chunks(checked, chunk_rows))
    record_id: str | None = None
    written = 0
    try:
        for number, chunk in enumerate(chunks):
            if number and pause:
                time.sleep(pause)
            record_id = _write_chunk(chunk, uow, principal, record_id, last=number == len(chunks) - 1, at=clock())
            written += len(chunk)
            if progress:
                progress(len(chunk))
    except _Refused as refused:
        _refuse(report, refused.line, refused.error)
        report.undone = undo_import(record_id, uow, clock) if record_id else 0
        return
    except _Interrupted:
        report.undone = written
        raise Unavailable("the import stalled and was undone; nothing of it is kept: import the file again") from None
    except BaseException:
        if record_id:  # busy, broken, interrupted: what was written must not stay either
            report.undone = undo_import(record_id, uow, clock)
        raise
    report.committed = True


def _write_chunk(
    chunk: Sequence[CheckedRow],
    uow: RegistrationUnitOfWork,
    principal: Principal,
    record_id: str | None,
    *,
    last: bool,
    at: datetime,
) -> str | None:
    """One chunk and the import's record in one transaction; the record's id (None once the import is complete)."""
    with uow:
        _recheck(chunk, uow, principal)
        record = _record(uow, record_id, at) if record_id or not last else None
        for row in chunk:
            uow.members.add(row.member)
            for membership in row.memberships:
                uow.memberships.add(membership)
        if record is not None and last:
            uow.imports.delete(record)  # complete: nothing left to undo
        elif record is not None:
            record.wrote((row.member.id for row in chunk), at)
        try:
            uow.commit()
        except Unavailable:
            raise
        except StaleVersion as exc:  # the record: being undone by the job
            raise _Interrupted from exc
        except CercleError as exc:  # a race lost between the re-check and the commit
            lost = exc
        else:
            return None if last or record is None else record.id
    raise _Refused(_culprit(chunk, uow, principal), lost) from lost  # in a transaction of its own


def _record(uow: RegistrationUnitOfWork, record_id: str | None, at: datetime) -> model.MemberImport:
    if record_id is None:
        record = model.MemberImport.start(at)
        uow.imports.add(record)
        return record
    found = uow.imports.get(record_id)
    if found is None:
        raise _Interrupted
    return found


def _recheck(chunk: Sequence[CheckedRow], uow: RegistrationUnitOfWork, principal: Principal) -> None:
    """What phase 1 read may have changed since: emails, organizations, communities (status and scope)."""
    taken = uow.members.emails_taken(row.member.email for row in chunk)
    organizations = uow.organizations.existing(row.member.organization_id for row in chunk)
    communities = uow.communities.get_many(m.community_id for row in chunk for m in row.memberships)
    for row in chunk:
        member = row.member
        if member.email in taken:
            raise _Refused(row.line, Conflict("a member with this email already exists", field="email"))
        if member.organization_id is not None and member.organization_id not in organizations:
            raise _Refused(row.line, InvalidInput("no such organization", field="organization_id"))
        for membership in row.memberships:
            community = communities.get(membership.community_id)
            try:
                if community is None:
                    raise InvalidInput(f"no such community {membership.community_id!r}", field="communities")
                if not access.may_manage_community(principal, community):
                    raise Forbidden(f"you may not add members to community {community.id!r}", field="communities")
                community.ensure_open()
            except CercleError as exc:
                detail = f"community {membership.community_id!r}: {exc.detail}"
                raise _Refused(row.line, type(exc)(detail, field="communities")) from exc


def _culprit(chunk: Sequence[CheckedRow], uow: RegistrationUnitOfWork, principal: Principal) -> int:
    """The first row of the chunk that a fresh re-check refuses; the chunk's first row when none is."""
    try:
        with uow:
            _recheck(chunk, uow, principal)
    except _Refused as refused:
        return refused.line
    except CercleError:
        pass
    return chunk[0].line


def undo_import(record_id: str, uow: RegistrationUnitOfWork, clock: model.Clock = model.now) -> int:
    """Erase the members an import wrote, a short transaction per chunk (the other services follow MemberErased),
    then forget the import; how many members were erased. Safe to run twice at once: one of them wins each chunk."""
    undone = 0
    failures = conflicts = 0
    while True:
        try:
            with uow:
                record = uow.imports.get(record_id)
                if record is None:
                    return undone
                at = clock()
                batch = record.member_ids[:CHUNK_ROWS]
                for member in uow.members.get_many(batch):
                    erase(member, uow, at)
                if len(record.member_ids) > len(batch):
                    record.undid(batch, at)
                else:
                    uow.imports.delete(record)
                uow.commit()
            undone += len(batch)
            failures = 0
        except Conflict:  # another undo of the same import went first: read its record again
            conflicts += 1
            if conflicts > 10 * UNDO_ATTEMPTS:
                raise
        except Unavailable as exc:
            failures += 1
            if failures == UNDO_ATTEMPTS:
                log.error("import %s: could not undo it now; the undo-interrupted-imports job will", record_id)
                raise
            time.sleep(exc.retry_after)


def undo_interrupted_imports(
    uow: RegistrationUnitOfWork, *, stalled_after: timedelta, clock: model.Clock = model.now
) -> list[str]:
    """Undo every import that wrote no chunk for `stalled_after`: the process that ran it stopped midway."""
    with uow:
        stalled = [r.id for r in uow.imports.progressed_before(clock() - stalled_after)]
    for record_id in stalled:
        erased = undo_import(record_id, uow, clock)
        log.warning("import %s was left midway: undone, %d members erased again", record_id, erased)
    return stalled


# --- rows ----------------------------------------------------------------------------------------------------------


def _flag(values: dict[str, str], purpose: str) -> bool:
    raw = values.get(f"consent_{purpose}")
    if raw is None or raw == "":
        return CONSENT_DEFAULTS[purpose]
    raw = raw.lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise InvalidInput(f"expected yes or no, got {raw!r}", field=f"consent_{purpose}")


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(LIST_SEPARATOR) if part.strip()]


def _command(row: Row) -> tuple[RegisterMember, list[str], str]:
    values = row.values
    if "__extra__" in values:
        raise InvalidInput("more cells than columns", field=None)
    cmd = RegisterMember(
        display_name=values.get("display_name", ""),
        email=values.get("email", ""),
        language=values.get("language") or "fr",
        region=values.get("region") or None,
        organization_id=values.get("organization_id") or None,
        job_title=values.get("job_title") or None,
        expertise=_split(values.get("expertise")),
        consents={p.value: _flag(values, p.value) for p in model.ConsentPurpose},
    )
    return cmd, _split(values.get("communities")), values.get("role") or model.MembershipRole.PARTICIPANT


def _column(field_name: str | None) -> str | None:
    if field_name in ("community_id", "member_id"):
        return "communities"
    if field_name and field_name.startswith("consents."):
        return "consent_" + field_name.removeprefix("consents.")
    return field_name


def _refuse(report: ImportReport, line: int, exc: CercleError) -> None:
    report.errors.append(RowError(line, _column(exc.field), exc.detail))


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]

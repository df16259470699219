"""Bulk import of members and their memberships from CSV: every row checked, all written or none."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from cercle_shared.errors import CercleError, Forbidden, InvalidInput
from cercle_shared.principal import Principal

from ..domain import model
from ..domain.regions import RegionCatalog
from . import access
from .members import RegisterMember, add_member
from .memberships import add_membership
from .unit_of_work import RegistrationUnitOfWork

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
MAX_ROWS = 10_000
TRUE = {"1", "true", "yes", "y", "oui", "o", "x"}
FALSE = {"0", "false", "no", "n", "non", ""}
CONSENT_DEFAULTS = {"processing": False, "directory": False, "email": True, "surveys": False}


@dataclass(frozen=True)
class RowError:
    row: int  # line in the file; the header is line 1
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

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]


def parse_csv(text: str) -> list[Row]:
    """Rows of a CSV file with a header line; a file-level problem is an InvalidInput naming `file`."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InvalidInput("the file is empty", field="file")
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in reader.fieldnames or ()]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InvalidInput(f"unknown columns {unknown}; expected some of {list(COLUMNS)}", field="file")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvalidInput(f"missing columns {missing}", field="file")
    reader.fieldnames = header
    rows = []
    try:
        for raw in reader:
            if None in raw:
                rows.append(Row(reader.line_num, {"__extra__": "x"}))
                continue
            if not any((v or "").strip() for v in raw.values()):
                continue  # blank line
            rows.append(Row(reader.line_num, {k: (v or "").strip() for k, v in raw.items()}))
            if len(rows) > MAX_ROWS:
                raise InvalidInput(f"at most {MAX_ROWS} rows per import", field="file")
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV near line {reader.line_num}: {exc}", field="file") from exc
    return rows


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
        display_name=values["display_name"],
        email=values["email"],
        language=values.get("language") or "fr",
        region=values.get("region") or None,
        organization_id=values.get("organization_id") or None,
        job_title=values.get("job_title") or None,
        expertise=_split(values.get("expertise")),
        consents={p.value: _flag(values, p.value) for p in model.ConsentPurpose},
    )
    return cmd, _split(values.get("communities")), values.get("role") or model.MembershipRole.PARTICIPANT


def _column(field_name: str | None) -> str | None:
    if field_name and field_name.startswith("consents."):
        return "consent_" + field_name.removeprefix("consents.")
    return field_name


def import_members(
    text: str,
    uow: RegistrationUnitOfWork,
    principal: Principal,
    regions: RegionCatalog,
    *,
    dry_run: bool,
    progress: Callable[[int], None] | None = None,
    rows: list[Row] | None = None,
    clock: model.Clock = model.now,
) -> ImportReport:
    """Check every row; write everything (members, memberships, their events) only if no row is refused."""
    access.check_import_members(principal)
    rows = parse_csv(text) if rows is None else rows
    report = ImportReport(dry_run=dry_run, rows=len(rows))
    first_line_of: dict[str, int] = {}
    with uow:
        communities: dict[str, model.Community | None] = {}
        for row in rows:
            try:
                cmd, community_ids, role = _command(row)
                email = model.normalize_email(cmd.email)
                if email in first_line_of:
                    raise InvalidInput(f"the same email is on line {first_line_of[email]}", field="email")
                first_line_of[email] = row.line
                regions.check(cmd.region)
                if not principal.covers_region(cmd.region):
                    raise Forbidden("outside your regions", field="region")
                at = clock()
                member = add_member(cmd, uow, at)
                report.members += 1
                for community_id in community_ids:
                    if community_id not in communities:
                        communities[community_id] = uow.communities.get(community_id)
                    community = communities[community_id]
                    if community is None:
                        raise InvalidInput(f"no such community {community_id!r}", field="communities")
                    if not access.may_manage_community(principal, community):
                        raise Forbidden(f"you may not add members to community {community_id!r}", field="communities")
                    try:
                        add_membership(community, member, role, uow, at)
                    except CercleError as exc:
                        raise type(exc)(f"community {community_id!r}: {exc.detail}", field=exc.field) from exc
                    report.memberships += 1
            except CercleError as exc:
                field_name = "communities" if exc.field in ("community_id", "member_id") else _column(exc.field)
                report.errors.append(RowError(row.line, field_name, exc.detail))
            if progress:
                progress(1)
        if report.ok and not dry_run:
            uow.commit()
            report.committed = True
    return report

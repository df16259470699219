"""HTTP request and response bodies (XCreate / XUpdate / XPublic per resource) and the mapping of domain objects
onto the responses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema

from cercle_shared.errors import InvalidInput
from cercle_shared.web import StrictModel
from cercle_shared.web.pagination import Page
from cercle_shared.web.schemas import MultiLine, SaneDate, SingleLine

from ..domain import model
from ..domain.regions import Region
from ..service_layer import views
from ..service_layer.importing import ImportReport

T = TypeVar("T")

Language = Literal["fr", "en"]
RegionCode = Annotated[
    str, Field(pattern=r"^(0[1-9]|1[0-7])$", description="Québec region code, 01 to 17.", examples=["06"])
]
CommunityKind = Literal["community_of_practice", "co_development_group", "community_of_interest"]
CommunityStatus = Literal["active", "paused", "closed"]
Role = Literal["participant", "facilitator", "coordinator"]
SizeBand = Literal["1-9", "10-49", "50-249", "250-999", "1000+"]
Expertise = Annotated[
    list[Annotated[SingleLine, Field(max_length=60)]],
    Field(max_length=30, description="Expertise tags (stored lower-cased).", examples=[["ergonomie", "santé mentale"]]),
]


def _address(value: str) -> str:
    try:
        return model.normalize_email(value)
    except InvalidInput as exc:
        raise ValueError(exc.detail) from None


Email = Annotated[
    str,
    AfterValidator(_address),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}),
]
"""An address and nothing else: no display name, no angle brackets, no list, no control character (stored
lower-cased)."""

VERSION = Field(default=None, ge=1, description="The version you read (alternatively send it as If-Match); stale: 409.")


class RegionPublic(BaseModel):
    code: str = Field(examples=["06"])
    name_fr: str = Field(examples=["Montréal"])
    name_en: str = Field(examples=["Montreal"])


class OrganizationCreate(StrictModel):
    name: SingleLine = Field(min_length=1, max_length=200, examples=["CISSS de Laval"])
    sector: SingleLine | None = Field(default=None, max_length=100, examples=["santé"])
    region: RegionCode | None = None
    size_band: SizeBand | None = Field(default=None, description="Number of employees.")


class OrganizationUpdate(StrictModel):
    name: SingleLine | None = Field(default=None, min_length=1, max_length=200)
    sector: SingleLine | None = Field(default=None, max_length=100)
    region: RegionCode | None = None
    size_band: SizeBand | None = None
    version: int | None = VERSION


class OrganizationPublic(BaseModel):
    id: str
    name: str
    sector: str | None
    region: str | None
    size_band: str | None
    created_at: datetime
    version: int


class Consents(StrictModel):
    processing: bool = Field(description="Consent to the processing of personal data; required to register.")
    directory: bool = Field(default=False, description="Appear in the peer directory of one's communities.")
    email: bool = Field(default=True, description="Receive email notifications.")
    surveys: bool = Field(default=False, description="Be invited to surveys.")


class ConsentsUpdate(StrictModel):
    """Give (true) or withdraw (false) consent per purpose; purposes left out stay as they are."""

    processing: bool | None = Field(default=None, description="Cannot be withdrawn while registered: erase instead.")
    directory: bool | None = None
    email: bool | None = None
    surveys: bool | None = None


class MemberCreate(StrictModel):
    display_name: SingleLine = Field(min_length=1, max_length=200, examples=["Marie Tremblay"])
    email: Email = Field(examples=["marie.tremblay@example.org"])
    language: Language = Field(default="fr", description="Preferred language; French by default.")
    region: RegionCode | None = None
    organization_id: SingleLine | None = Field(default=None, max_length=36)
    job_title: SingleLine | None = Field(default=None, max_length=200)
    expertise: Expertise = Field(default_factory=list)
    consents: Consents


class MemberUpdate(StrictModel):
    """Only the fields present change; send null to clear an optional field."""

    display_name: SingleLine | None = Field(default=None, min_length=1, max_length=200)
    email: Email | None = None
    language: Language | None = None
    region: RegionCode | None = None
    organization_id: SingleLine | None = Field(default=None, max_length=36)
    job_title: SingleLine | None = Field(default=None, max_length=200)
    expertise: Expertise | None = None
    consents: ConsentsUpdate | None = None
    version: int | None = VERSION


class MemberPublic(BaseModel):
    id: str
    display_name: str
    email: str
    language: Language
    region: str | None
    organization_id: str | None
    job_title: str | None
    expertise: list[str]
    consents: dict[str, bool] = Field(description="Current consent per purpose.")
    consents_changed_at: dict[str, datetime] = Field(description="When each consent was last given or withdrawn.")
    registered_at: datetime
    version: int


class ConsentChangePublic(BaseModel):
    purpose: str
    granted: bool
    changed_at: datetime


class MembershipPublic(BaseModel):
    id: str
    community_id: str
    member_id: str
    role: str
    joined_at: datetime
    left_at: datetime | None
    version: int


class ExportedMembership(MembershipPublic):
    community_name_fr: str | None
    community_name_en: str | None


class MemberExport(BaseModel):
    """Everything the registration service holds about a member."""

    exported_at: datetime
    profile: MemberPublic
    organization: OrganizationPublic | None
    consent_history: list[ConsentChangePublic]
    memberships: list[ExportedMembership] = Field(description="Every join and leave, the past ones included.")


class DirectoryEntryPublic(BaseModel):
    member_id: str
    display_name: str
    role: str
    organization_id: str | None
    organization_name: str | None
    job_title: str | None
    region: str | None
    expertise: list[str]


class ImportRowError(BaseModel):
    row: int = Field(description="Line in the file where the row starts; the header is line 1.", examples=[3])
    field: str | None = Field(description="Column at fault, when one is.", examples=["email"])
    message: str = Field(examples=["a member with this email already exists"])


class ImportReportPublic(BaseModel):
    dry_run: bool
    committed: bool = Field(description="True when the members and memberships were written (and kept).")
    rows: int = Field(description="Rows in the file, blank lines left out.")
    members: int = Field(description="Members the valid rows create.")
    memberships: int = Field(description="Memberships the valid rows create.")
    errors: list[ImportRowError] = Field(description="One entry per refused row; empty when every row is valid.")
    undone: int = Field(
        default=0,
        description="Members written and then erased again: a concurrent change (an email registered, an "
        "organization deleted, a community closed) made a row invalid while the import was writing, so nothing of "
        "it is kept. 0 otherwise.",
    )


class CommunityCreate(StrictModel):
    name_fr: SingleLine = Field(min_length=1, max_length=200, examples=["CoP Santé mieux-être au travail — Laval"])
    name_en: SingleLine = Field(min_length=1, max_length=200, examples=["Workplace health and wellbeing CoP — Laval"])
    description_fr: MultiLine = Field(default="", max_length=5000)
    description_en: MultiLine = Field(default="", max_length=5000)
    domain: SingleLine | None = Field(default=None, max_length=100, examples=["workplace_health"])
    kind: CommunityKind = "community_of_practice"
    regions: list[RegionCode] = Field(default_factory=list, max_length=17, examples=[["13"]])
    province_wide: bool = Field(default=False, description="Province-wide or virtual: then no regions.")
    cadence: int = Field(default=6, ge=1, le=24, description="Target meetings a year (5-10 usual).")
    founded_on: SaneDate | None = Field(default=None, description="Within 1970–2200.")


class CommunityUpdate(StrictModel):
    name_fr: SingleLine | None = Field(default=None, min_length=1, max_length=200)
    name_en: SingleLine | None = Field(default=None, min_length=1, max_length=200)
    description_fr: MultiLine | None = Field(default=None, max_length=5000)
    description_en: MultiLine | None = Field(default=None, max_length=5000)
    domain: SingleLine | None = Field(default=None, max_length=100)
    kind: CommunityKind | None = None
    regions: list[RegionCode] | None = Field(default=None, max_length=17)
    province_wide: bool | None = None
    cadence: int | None = Field(default=None, ge=1, le=24)
    founded_on: SaneDate | None = Field(default=None, description="Within 1970–2200.")
    version: int | None = VERSION


class CommunityStatusUpdate(StrictModel):
    status: CommunityStatus = Field(description="A closed community cannot be reopened.")
    version: int | None = VERSION


class CommunityPublic(BaseModel):
    id: str
    name_fr: str
    name_en: str
    description_fr: str
    description_en: str
    domain: str | None
    kind: str
    regions: list[str]
    province_wide: bool
    cadence: int
    status: str
    founded_on: date | None
    facilitators: list[str] = Field(description="Member ids of its current facilitators.")
    version: int


class MembershipCreate(StrictModel):
    member_id: SingleLine = Field(min_length=1, max_length=36)
    role: Role = "participant"


class MembershipUpdate(StrictModel):
    role: Role
    version: int | None = VERSION


# Fields that are not nullable in the domain: an explicit null is refused rather than stored.
NOT_NULL = {
    "OrganizationUpdate": {"name"},
    "MemberUpdate": {"display_name", "email", "language", "expertise"},
    "CommunityUpdate": {
        "name_fr",
        "name_en",
        "description_fr",
        "description_en",
        "kind",
        "regions",
        "province_wide",
        "cadence",
    },
}


class OrganizationsPublic(Page[OrganizationPublic]):
    """A page of organizations."""


class MembersPublic(Page[MemberPublic]):
    """A page of members."""


class MembershipsPublic(Page[MembershipPublic]):
    """A page of memberships, oldest first."""


class CommunitiesPublic(Page[CommunityPublic]):
    """A page of communities."""


class DirectoryPublic(Page[DirectoryEntryPublic]):
    """A page of a community's peer directory."""


def changes(body: BaseModel) -> dict[str, Any]:
    """The fields the client sent, minus the version; an explicit null on a required field is refused."""
    sent = body.model_dump(exclude_unset=True, exclude={"version", "consents"})
    for name in NOT_NULL.get(type(body).__name__, ()):
        if name in sent and sent[name] is None:
            raise InvalidInput(f"{name} cannot be null", field=name)
    return sent


def page(result: views.PageOf, convert: Callable[[Any], T]) -> dict[str, Any]:
    return {"items": [convert(item) for item in result.items], "next_cursor": result.next_cursor}


def region_public(region: Region) -> RegionPublic:
    return RegionPublic(code=region.code, name_fr=region.name_fr, name_en=region.name_en)


def organization_public(organization: model.Organization) -> OrganizationPublic:
    return OrganizationPublic.model_validate(organization, from_attributes=True)


def member_public(member: model.Member) -> MemberPublic:
    return MemberPublic(
        **{name: getattr(member, name) for name in MemberPublic.model_fields if name != "consents_changed_at"},
        consents_changed_at=member.consents_changed_at(),
    )


def membership_public(membership: model.Membership) -> MembershipPublic:
    return MembershipPublic.model_validate(membership, from_attributes=True)


def member_export(record: views.MemberRecord, exported_at: datetime) -> MemberExport:
    return MemberExport(
        exported_at=exported_at,
        profile=member_public(record.member),
        organization=organization_public(record.organization) if record.organization else None,
        consent_history=[ConsentChangePublic.model_validate(c, from_attributes=True) for c in record.consent_history],
        memberships=[
            ExportedMembership(
                **membership_public(m).model_dump(),
                community_name_fr=c.name_fr if c else None,
                community_name_en=c.name_en if c else None,
            )
            for m, c in record.memberships
        ],
    )


def community_public(community: model.Community, facilitators: list[str]) -> CommunityPublic:
    return CommunityPublic(
        **{n: getattr(community, n) for n in CommunityPublic.model_fields if n != "facilitators"},
        facilitators=facilitators,
    )


def directory_entry_public(entry: views.DirectoryEntry) -> DirectoryEntryPublic:
    return DirectoryEntryPublic(
        member_id=entry.member.id,
        display_name=entry.member.display_name,
        role=entry.role,
        organization_id=entry.member.organization_id,
        organization_name=entry.organization_name,
        job_title=entry.member.job_title,
        region=entry.member.region,
        expertise=entry.member.expertise,
    )


def import_report_public(report: ImportReport) -> ImportReportPublic:
    return ImportReportPublic(
        dry_run=report.dry_run,
        committed=report.committed,
        rows=report.rows,
        members=report.members,
        memberships=report.memberships,
        errors=[ImportRowError(row=e.row, field=e.field, message=e.message) for e in report.errors],
        undone=report.undone,
    )


# --- sign-in -----------------------------------------------------------------------------------------------------

Secret = Annotated[
    str,
    Field(
        min_length=16,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="An opaque secret as Cercle issued it (URL-safe characters).",
    ),
]


class SignInLinkCreate(StrictModel):
    email: Email = Field(description="The member's email address.", examples=["marie@example.org"])


class SignInLinkAccepted(BaseModel):
    """The same answer whether or not the address belongs to a member."""

    message_fr: str = Field(
        default="Si cette adresse appartient à un membre, un lien de connexion vient de lui être envoyé."
    )
    message_en: str = Field(default="If this address belongs to a member, a sign-in link is on its way.")
    expires_in: int = Field(description="Seconds the link stays valid once sent.", examples=[900])


class TokenCreate(StrictModel):
    code: Secret = Field(description="The one-time code of the emailed link.")


class TokenRefresh(StrictModel):
    refresh_token: Secret = Field(description="The latest refresh token; it is spent by this call.")


class SignOutRequest(StrictModel):
    refresh_token: Secret = Field(description="A refresh token of the sign-in to end.")


class IdTokenExchange(StrictModel):
    id_token: str = Field(
        min_length=1,
        max_length=16000,
        pattern=r"^[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*$",
        description="An ID token (compact JWS) of the configured OpenID Connect issuer.",
    )


class TokensPublic(BaseModel):
    access_token: str = Field(description="Bearer JWT (HS256) every Cercle service accepts.")
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds the access token stays valid.", examples=[900])
    refresh_token: str = Field(description="Opaque, single use: trade it at /v1/auth/refresh for new tokens.")

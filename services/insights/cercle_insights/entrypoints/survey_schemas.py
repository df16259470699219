"""HTTP bodies of surveys: what a coordinator sends to open one, what a member sends to answer, and what results
look like (counts and shares, never who answered what)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from cercle_shared.web.schemas import SaneDateTime, SingleLine, StrictModel

from ..config import Settings
from ..domain.surveys import Item, ItemKind
from ..service_layer import surveys
from .schemas import REGION_CODE

ITEM_KEY = r"^[a-z][a-z0-9_]{0,39}$"
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Label = Annotated[SingleLine, Field(min_length=1, max_length=300)]
Title = Annotated[SingleLine, Field(min_length=1, max_length=200)]


def survey_policy(settings: Settings) -> surveys.SurveyPolicy:
    return surveys.SurveyPolicy(
        public_url=settings.survey_public_url,
        secret=surveys.link_key(settings.jwt_secret.get_secret_value()),
        min_group=settings.survey_min_group,
        feedback_delay=timedelta(hours=settings.survey_feedback_delay_hours),
        feedback_open=timedelta(days=settings.survey_feedback_open_days),
        reminder_days=tuple(settings.survey_reminder_days),
    )


class CustomItemCreate(StrictModel):
    key: str = Field(pattern=ITEM_KEY, description="Short name of the item, unique in the survey.", examples=["venue"])
    kind: Literal["scale", "text"] = Field(default="scale", description="A 1–5 agreement scale, or a free text.")
    label_fr: Label = Field(examples=["Le lieu des rencontres me convient."])
    label_en: Label = Field(examples=["The meeting place suits me."])


class SurveyCreate(StrictModel):
    """An annual community survey: the four standard indicators, then your own items."""

    community_id: Id | None = Field(default=None, description="The community surveyed (or give a region).")
    region: str | None = Field(default=None, pattern=REGION_CODE, description="Or every community of this region.")
    year: int = Field(ge=2000, le=2200, description="The year the survey is about.", examples=[2026])
    opens_at: SaneDateTime = Field(description="When invitations go out.")
    closes_at: SaneDateTime = Field(description="When answers stop being taken.")
    theme_id: Id | None = Field(default=None, description="A theme the survey is about, if one.")
    title_fr: Title | None = None
    title_en: Title | None = None
    reminder_days: list[Annotated[int, Field(ge=1, le=90)]] | None = Field(
        default=None, max_length=5, description="Days after the invitation to remind who has not answered."
    )
    custom_items: list[CustomItemCreate] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _one_target(self) -> SurveyCreate:
        if (self.community_id is None) == (self.region is None):
            raise ValueError("give either community_id or region")
        return self

    def command(self) -> surveys.OpenSurvey:
        return surveys.OpenSurvey(
            year=self.year,
            opens_at=self.opens_at,
            closes_at=self.closes_at,
            community_id=self.community_id,
            region=self.region,
            theme_id=self.theme_id,
            title_fr=self.title_fr,
            title_en=self.title_en,
            reminder_days=None if self.reminder_days is None else tuple(self.reminder_days),
            custom_items=tuple(Item(i.key, ItemKind(i.kind), i.label_fr, i.label_en) for i in self.custom_items),
        )


def _number_or_text(value: object) -> object:
    if value is None or (isinstance(value, int | str) and not isinstance(value, bool)):
        return value
    raise ValueError("answer with a whole number from 1 to 5, or a text")


Value = Annotated[int | Annotated[str, Field(max_length=2000)] | None, BeforeValidator(_number_or_text)]


class AnswerCreate(StrictModel):
    """One value per item: a whole number from 1 to 5 for a scale, a text for a free item (optional)."""

    answers: dict[Annotated[str, Field(max_length=40)], Value] = Field(
        max_length=40, examples=[{"usefulness": 5, "will_apply": 4, "would_recommend": 5, "comment": "Merci!"}]
    )


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ItemPublic(_Out):
    key: str
    kind: str = Field(description="scale (1–5 agreement) or text.")
    label_fr: str
    label_en: str
    indicator: bool = Field(description="One of the standard indicators compared across communities and years.")


class SurveyPublic(_Out):
    id: str
    kind: str = Field(description="session_feedback or annual.")
    title_fr: str
    title_en: str
    year: int
    community_id: str | None
    region: str | None
    session_id: str | None
    theme_id: str | None
    opens_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    reminder_days: list[int]
    items: list[ItemPublic]
    invited: int = Field(description="Members asked.")
    answered: int = Field(description="Members who answered (who they are is not shown).")
    open: bool


class MySurveyPublic(_Out):
    survey_id: str
    kind: str
    title_fr: str
    title_en: str
    community_id: str | None
    session_id: str | None
    closes_at: datetime
    open: bool
    answered: bool = Field(description="Whether you answered (what you answered is not kept with your name).")
    items: list[ItemPublic]


class AnswerAccepted(BaseModel):
    survey_id: str
    answered: Literal[True] = True


class ItemResultPublic(_Out):
    key: str
    kind: str
    label_fr: str
    label_en: str
    respondents: int
    agree_pct: float | None = Field(description="% who answered 4 or 5; null when too few answered.")
    mean: float | None
    texts: list[str] | None = Field(description="Free texts, sorted; null when too few answered.")
    reason: str | None = Field(description="not_enough_answers when the figures are withheld.")


class SurveyResultsPublic(_Out):
    survey_id: str
    kind: str
    title_fr: str
    title_en: str
    community_id: str | None
    region: str | None
    session_id: str | None
    year: int
    invited: int
    respondents: int
    min_group: int = Field(description="Fewest respondents behind any figure shown.")
    items: list[ItemResultPublic]


class IndicatorResultPublic(_Out):
    indicator: str = Field(examples=["practice_evolves"])
    label_fr: str
    label_en: str
    group: str | None = Field(description="The community, region, year or theme of this row (null: everything).")
    respondents: int
    agree_pct: float | None = Field(description="% who agree (4 or 5 of 5); null when too few answered.")
    mean: float | None
    reason: str | None = Field(description="not_enough_answers when the figures are withheld.")


class TrendPointPublic(_Out):
    indicator: str
    year: int
    respondents: int
    agree_pct: float | None
    change_pts: float | None = Field(description="Change in points against the previous year (null if unknown).")
    reason: str | None

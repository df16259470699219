"""Surveys insights owns (issue 11): the post-session feedback and the annual community survey.

Identities and answers live apart. An `Invitation` says that a member was asked and whether she answered (so that
she can be told, and reminders stop); an `Answer` holds what was answered with only the grouping attributes the
results need (community, year, theme, session) — no member, no time. Results are shown only for groups of at
least `min_group` respondents.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from cercle_shared.domain import Aggregate, DomainEvent
from cercle_shared.errors import CercleError, Conflict, InvalidInput

SCALE_MIN, SCALE_MAX = 1, 5
AGREE_FROM = 4  # "agree" on the 1–5 scale: 4 (agree) or 5 (strongly agree)
TEXT_MAX = 2000
NAMESPACE = uuid.UUID("6d3f1f0e-6a44-4a43-9a0b-5b2f3c9e1a11")


class SurveyKind(StrEnum):
    SESSION_FEEDBACK = "session_feedback"
    ANNUAL = "annual"


class ItemKind(StrEnum):
    SCALE = "scale"  # 1 to 5: from "strongly disagree" to "strongly agree"
    TEXT = "text"  # a free text, always optional


class SurveyClosed(CercleError):
    """The survey takes no more answers."""

    status = 410
    title = "Gone"


@dataclass(frozen=True)
class Item:
    key: str
    kind: ItemKind
    label_fr: str
    label_en: str
    indicator: bool = False  # one of the seeds' standard indicators, compared across communities and years

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "kind": str(self.kind),
            "label_fr": self.label_fr,
            "label_en": self.label_en,
            "indicator": self.indicator,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> Item:
        return cls(
            key=str(raw["key"]),
            kind=ItemKind(str(raw["kind"])),
            label_fr=str(raw["label_fr"]),
            label_en=str(raw["label_en"]),
            indicator=bool(raw.get("indicator", False)),
        )


# The seeds' survey: 96% "la communauté m'aide à faire évoluer ma pratique", 93% spread to colleagues, 81% change agent.
INDICATORS: tuple[Item, ...] = (
    Item(
        "practice_evolves",
        ItemKind.SCALE,
        "La communauté m'aide à faire évoluer ma pratique.",
        "The community helps me evolve my practice.",
        indicator=True,
    ),
    Item(
        "spread_to_colleagues",
        ItemKind.SCALE,
        "Ma participation me donne envie de faire rayonner ces pratiques auprès de mes collègues.",
        "Taking part makes me want to spread these practices to my colleagues.",
        indicator=True,
    ),
    Item(
        "change_agent",
        ItemKind.SCALE,
        "J'assume davantage le rôle d'agent·e de changement au sein de mon organisation.",
        "I take on the role of change agent in my organization more.",
        indicator=True,
    ),
    Item(
        "new_tools_resources",
        ItemKind.SCALE,
        "J'ai découvert de nouveaux outils ou de nouvelles ressources grâce à la communauté.",
        "I found new tools or resources through the community.",
        indicator=True,
    ),
)
INDICATOR_KEYS = tuple(item.key for item in INDICATORS)

FEEDBACK_ITEMS: tuple[Item, ...] = (
    Item("usefulness", ItemKind.SCALE, "Cette rencontre m'a été utile.", "This meeting was useful to me."),
    Item(
        "will_apply",
        ItemKind.SCALE,
        "Je compte appliquer quelque chose de cette rencontre dans mon travail.",
        "I intend to apply something from this meeting in my work.",
    ),
    Item(
        "would_recommend",
        ItemKind.SCALE,
        "Je recommanderais cette communauté à un·e collègue.",
        "I would recommend this community to a colleague.",
    ),
    Item(
        "comment",
        ItemKind.TEXT,
        "Un commentaire, une idée pour la suite? (facultatif)",
        "A comment, an idea for next time? (optional)",
    ),
)


def survey_id_for_session(session_id: str) -> str:
    """One feedback survey per session, whoever creates it first."""
    return str(uuid.uuid5(NAMESPACE, f"feedback:{session_id}"))


def invitation_id(survey_id: str, member_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"invitation:{survey_id}:{member_id}"))


def message_id(invitation: str, round_: int) -> str:
    """One email per invitation and round: notifications may rely on it to send each once."""
    return str(uuid.uuid5(NAMESPACE, f"message:{invitation}:{round_}"))


@dataclass(frozen=True)
class InvitationSent(DomainEvent):
    message_id: str
    survey_id: str
    member_id: str
    kind: str
    round: int
    community_id: str | None
    region: str | None
    session_id: str | None
    title_fr: str
    title_en: str
    answer_url: str
    closes_at: datetime
    issued_at: datetime


@dataclass(frozen=True)
class Response:
    """A valid answer, before it is stored apart from whoever gave it."""

    scores: dict[str, int]
    texts: dict[str, str]


@dataclass(eq=False)
class Survey(Aggregate):
    id: str
    kind: SurveyKind | str
    title_fr: str
    title_en: str
    year: int
    opens_at: datetime
    closes_at: datetime
    items: list[dict[str, object]] = field(default_factory=list)
    reminder_days: list[int] = field(default_factory=list)
    community_id: str | None = None
    region: str | None = None
    session_id: str | None = None
    theme_id: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None  # closed by hand before closes_at

    @classmethod
    def feedback(
        cls,
        *,
        session_id: str,
        community_id: str,
        theme_id: str | None,
        session_day: datetime,
        opens_at: datetime,
        open_for: timedelta,
        reminder_days: Sequence[int],
    ) -> Survey:
        day = session_day.date()
        return cls(
            id=survey_id_for_session(session_id),
            kind=SurveyKind.SESSION_FEEDBACK,
            title_fr=f"Votre avis sur la rencontre du {day.isoformat()}",
            title_en=f"Your feedback on the {day.isoformat()} meeting",
            year=session_day.year,
            opens_at=opens_at,
            closes_at=opens_at + open_for,
            items=[item.as_dict() for item in FEEDBACK_ITEMS],
            reminder_days=sorted(reminder_days),
            community_id=community_id,
            session_id=session_id,
            theme_id=theme_id,
            created_at=opens_at,
        )

    @classmethod
    def annual(
        cls,
        *,
        survey_id: str,
        year: int,
        community_id: str | None,
        region: str | None,
        theme_id: str | None,
        title_fr: str | None,
        title_en: str | None,
        opens_at: datetime,
        closes_at: datetime,
        reminder_days: Sequence[int],
        custom_items: Iterable[Item],
        created_by: str,
        at: datetime,
    ) -> Survey:
        if (community_id is None) == (region is None):
            raise InvalidInput("survey either a community or a region", field="community_id")
        if closes_at <= opens_at:
            raise InvalidInput("the survey must close after it opens", field="closes_at")
        if closes_at <= at:
            raise InvalidInput("the survey must close in the future", field="closes_at")
        items = [*INDICATORS]
        for index, item in enumerate(custom_items):
            if item.key in {i.key for i in items}:
                raise InvalidInput(f"two items are called {item.key}", field=f"custom_items.{index}.key")
            items.append(Item(item.key, item.kind, item.label_fr, item.label_en, indicator=False))
        return cls(
            id=survey_id,
            kind=SurveyKind.ANNUAL,
            title_fr=title_fr or f"Sondage annuel {year} de la communauté",
            title_en=title_en or f"{year} annual community survey",
            year=year,
            opens_at=opens_at,
            closes_at=closes_at,
            items=[item.as_dict() for item in items],
            reminder_days=sorted(set(reminder_days)),
            community_id=community_id,
            region=region,
            theme_id=theme_id,
            created_by=created_by,
            created_at=at,
        )

    def item_list(self) -> list[Item]:
        return [Item.from_dict(raw) for raw in self.items]

    def is_open(self, at: datetime) -> bool:
        return self.closed_at is None and self.opens_at <= at < self.closes_at

    def is_closed(self, at: datetime) -> bool:
        return self.closed_at is not None or at >= self.closes_at

    def close(self, at: datetime) -> None:
        if self.is_closed(at):
            raise Conflict("this survey is already closed", field="survey_id")
        self.closed_at = at

    def check_takes_answers(self, at: datetime) -> None:
        if self.is_closed(at):
            raise SurveyClosed("this survey is closed and takes no more answers", field="survey_id")
        if at < self.opens_at:
            raise Conflict("this survey is not open yet", field="survey_id")

    def validate(self, answers: Mapping[str, object]) -> Response:
        """Every scale item answered with a whole number from 1 to 5; free texts optional; nothing else."""
        items = {item.key: item for item in self.item_list()}
        for key in answers:
            if key not in items:
                raise InvalidInput(f"this survey has no item {key!r}", field=f"answers.{key}")
        scores: dict[str, int] = {}
        texts: dict[str, str] = {}
        for key, item in items.items():
            value = answers.get(key)
            if item.kind is ItemKind.SCALE:
                if value is None or value == "":
                    raise InvalidInput("answer this item from 1 to 5", field=f"answers.{key}")
                scores[key] = _score(value, key)
            elif value is not None:
                if not isinstance(value, str):
                    raise InvalidInput("give a text", field=f"answers.{key}")
                text = value.strip()
                if len(text) > TEXT_MAX:
                    raise InvalidInput(f"at most {TEXT_MAX} characters", field=f"answers.{key}")
                if any(ord(c) < 32 and c not in "\n\t\r" for c in text):
                    raise InvalidInput("control characters are not allowed", field=f"answers.{key}")
                if text:
                    texts[key] = text
        return Response(scores=scores, texts=texts)


def _score(value: object, key: str) -> int:
    if isinstance(value, bool):
        raise InvalidInput("answer with a whole number from 1 to 5", field=f"answers.{key}")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not SCALE_MIN <= value <= SCALE_MAX:
        raise InvalidInput("answer with a whole number from 1 to 5", field=f"answers.{key}")
    return value


@dataclass(eq=False)
class Invitation(Aggregate):
    """Participation: she was asked, and whether she answered — never what."""

    id: str
    survey_id: str
    member_id: str
    community_id: str | None
    issued_at: datetime
    rounds_sent: int = 0
    answered: bool = False

    @classmethod
    def to(cls, survey: Survey, member_id: str, community_id: str | None, at: datetime) -> Invitation:
        return cls(
            id=invitation_id(survey.id, member_id),
            survey_id=survey.id,
            member_id=member_id,
            community_id=community_id,
            issued_at=at,
        )

    def due_round(self, survey: Survey, at: datetime) -> int | None:
        """The next message due: the invitation (round 0), then one reminder per reminder day, while unanswered."""
        if self.answered or not survey.is_open(at):
            return None
        if self.rounds_sent == 0:
            return 0
        if self.rounds_sent > len(survey.reminder_days):
            return None
        due = self.issued_at + timedelta(days=survey.reminder_days[self.rounds_sent - 1])
        return self.rounds_sent if at >= due else None

    def send(self, survey: Survey, round_: int, answer_url: str, at: datetime) -> None:
        self.rounds_sent = round_ + 1
        self.record(
            InvitationSent(
                message_id=message_id(self.id, round_),
                survey_id=survey.id,
                member_id=self.member_id,
                kind=str(survey.kind),
                round=round_,
                community_id=self.community_id,
                region=survey.region,
                session_id=survey.session_id,
                title_fr=survey.title_fr,
                title_en=survey.title_en,
                answer_url=answer_url,
                closes_at=survey.closes_at,
                issued_at=at,
            )
        )

    def mark_answered(self) -> None:
        if self.answered:
            raise Conflict("you already answered this survey", field="survey_id")
        self.answered = True


@dataclass(eq=False)
class Answer:
    """What was answered, with the grouping attributes results need; nothing that says who, or when."""

    id: str
    survey_id: str
    kind: SurveyKind | str
    year: int
    community_id: str | None = None
    theme_id: str | None = None
    session_id: str | None = None
    scores: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Share:
    """A group's figure, or why there is none."""

    respondents: int
    agree_pct: float | None
    mean: float | None
    reason: str | None


NOT_ENOUGH = "not_enough_answers"


def share(scores: Sequence[int], min_group: int) -> Share:
    """% of 4–5 and the mean of a group's scores, only when at least `min_group` people answered."""
    n = len(scores)
    if n == 0 or n < min_group:
        return Share(respondents=n, agree_pct=None, mean=None, reason=NOT_ENOUGH)
    agree = sum(score >= AGREE_FROM for score in scores)
    return Share(respondents=n, agree_pct=round(100 * agree / n, 1), mean=round(sum(scores) / n, 2), reason=None)

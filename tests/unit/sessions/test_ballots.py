"""A member's first vote of a cycle says that she took part (BallotCast), never for what, on an internal topic:
notifications reminds only those who have not voted before the vote closes."""

from __future__ import annotations

from datetime import timedelta

from cercle_sessions.domain import events
from cercle_sessions.domain.program import Vote
from cercle_sessions.service_layer.integration_events import translate
from cercle_shared.contracts import CATALOG
from cercle_shared.contracts import sessions as contracts
from cercle_shared.contracts.base import Visibility

from .test_program_rules import VOTING, a_cycle, theme


def test_only_her_first_vote_of_the_cycle_records_that_she_took_part():
    cycle = a_cycle()
    themes = [theme(t) for t in "abc"]
    mine: list[Vote] = []
    mine.append(cycle.cast(themes[0], "m", mine, VOTING))
    mine.append(cycle.cast(themes[1], "m", mine, VOTING + timedelta(minutes=5)))
    cycle.cast(themes[2], "other", [], VOTING)
    ballots = [e for e in cycle.recorded_events if isinstance(e, events.BallotCast)]
    assert [(b.member_id, b.cycle_id, b.cast_at) for b in ballots] == [("m", "cy", VOTING), ("other", "cy", VOTING)]


def test_the_ballot_names_no_theme_and_travels_on_an_internal_topic_only():
    [ballot] = translate(events.BallotCast(cycle_id="cy", community_id="c", member_id="m", cast_at=VOTING))
    assert isinstance(ballot, contracts.BallotCast)
    assert "theme_id" not in ballot.model_dump()
    spec = CATALOG.for_event(ballot)
    assert spec.topic.visibility is Visibility.INTERNAL
    assert spec.topic.name == "cercle.sessions.ballots"
    assert CATALOG.for_event(contracts.VoteCast).topic.visibility is Visibility.PARTNER  # votes stay anonymous

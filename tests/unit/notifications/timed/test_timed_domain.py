"""The timed-message rules without a database: wall-clock offsets, offset labels, planning a key again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cercle_notifications.domain.timed import (
    TimedKey,
    TimedMessage,
    TimedStatus,
    before_in_wall_time,
    check_offsets,
    offset_label,
    parse_offset,
)
from cercle_shared.errors import InvalidInput

from .conftest import local

AT = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("session", "offset", "due"),
    [
        (local(2026, 11, 2, 18), timedelta(days=1), local(2026, 11, 1, 18)),  # both in EST
        (local(2026, 11, 1, 18), timedelta(days=1), local(2026, 10, 31, 18)),  # EDT the day before
        (local(2026, 3, 9, 18), timedelta(days=7), local(2026, 3, 2, 18)),  # EST the week before
        (local(2026, 3, 8, 12), timedelta(hours=10), local(2026, 3, 8, 2)),  # 2:00 does not exist that night...
    ],
)
def test_an_offset_is_counted_on_the_wall_clock_of_montreal(session, offset, due):
    assert before_in_wall_time(session, offset) == due


def test_a_time_in_the_spring_forward_gap_moves_past_it():
    due = before_in_wall_time(local(2026, 3, 8, 12), timedelta(hours=10))
    assert due == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 2:00 EST = 3:00 EDT, the first minute that exists


@pytest.mark.parametrize(
    ("offset", "label"),
    [(timedelta(days=7), "P7D"), (timedelta(hours=2), "PT2H"), (timedelta(days=1, hours=6), "P1DT6H")],
)
def test_offset_labels_round_trip(offset, label):
    assert offset_label(offset) == label
    assert parse_offset(label) == offset


@pytest.mark.parametrize(
    "offsets",
    [
        [timedelta(minutes=5)],
        [timedelta(days=61)],
        [timedelta(days=1)] * 2,
        [timedelta(seconds=90)],
        [timedelta(days=1)] * 6,
    ],
)
def test_bad_offsets_are_refused_naming_the_field(offsets):
    with pytest.raises(InvalidInput) as raised:
        check_offsets(offsets)
    assert raised.value.field == "offsets"


def _message() -> TimedMessage:
    key = TimedKey("m-1", "session:s-1", "session_reminder", "P1D")
    return TimedMessage.plan(key, due_at=AT, not_after=AT + timedelta(days=1), payload={}, session_id="s-1", at=AT)


def test_planning_the_same_moment_again_changes_nothing_once_it_went():
    message = _message()
    message.hand_over("d-1", AT)
    assert not message.replan(due_at=AT, not_after=AT + timedelta(days=1), payload={}, at=AT)
    assert (message.status, message.generation, message.source_id.endswith(":1")) == (TimedStatus.HANDED_OVER, 1, True)


def test_a_new_moment_rearms_a_message_that_went_as_a_new_generation():
    message = _message()
    message.hand_over("d-1", AT)
    assert message.replan(due_at=AT + timedelta(days=7), not_after=AT + timedelta(days=8), payload={}, at=AT)
    assert (message.status, message.generation, message.delivery_id) == (TimedStatus.PLANNED, 2, None)


def test_a_message_past_not_after_is_too_late():
    message = _message()
    assert not message.too_late(AT + timedelta(hours=23))
    assert message.too_late(AT + timedelta(days=1))

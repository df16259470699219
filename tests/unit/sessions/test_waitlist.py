"""Seats and the waitlist, as rules: never overbooked; the waitlist is served in arrival order."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cercle_sessions.domain.model import Session
from cercle_shared.errors import Conflict

STARTS = datetime(2026, 10, 15, 17, 0, tzinfo=UTC)
BEFORE = STARTS - timedelta(days=1)

# An operation: ("register", member) or ("cancel", member) or ("capacity", n)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("register"), st.integers(0, 12)),
        st.tuples(st.just("cancel"), st.integers(0, 12)),
        st.tuples(st.just("capacity"), st.integers(1, 8)),
    ),
    max_size=60,
)


def a_session(capacity: int) -> Session:
    return Session(
        id="s", community_id="c", title="t", starts_at=STARTS, ends_at=STARTS + timedelta(hours=3), capacity=capacity
    )


@settings(max_examples=300, deadline=None)
@given(capacity=st.integers(1, 6), ops=operations)
def test_never_overbooked_and_the_waitlist_is_served_in_arrival_order(capacity, ops):
    session = a_session(capacity)
    for op, value in ops:
        member = f"m-{value}"
        try:
            if op == "register":
                session.register(member, BEFORE)
            elif op == "cancel":
                registration = session.current_registration(member)
                if registration is None:
                    continue
                waiting_before = [r.id for r in session.waitlist()]
                promoted = session.cancel_registration(registration, BEFORE)
                # promotions are the head of the waitlist, in arrival order
                assert [r.id for r in promoted] == [i for i in waiting_before if i != registration.id][: len(promoted)]
            else:
                waiting_before = [r.id for r in session.waitlist()]
                _, promoted = session.reschedule(BEFORE, capacity=value)
                assert [r.id for r in promoted] == waiting_before[: len(promoted)]
        except Conflict:
            pass
        seated = session.seated()
        assert len(seated) <= session.capacity
        if session.waitlist():
            assert len(seated) == session.capacity  # nobody waits while a seat is free
        active = [r.member_id for r in session.registrations if r.active]
        assert len(active) == len(set(active))  # no double registration
        assert [r.arrival for r in session.waitlist()] == sorted(r.arrival for r in session.waitlist())


def test_capacity_cannot_drop_below_the_confirmed_count():
    session = a_session(3)
    for m in ("a", "b", "c"):
        session.register(m, BEFORE)
    with pytest.raises(Conflict):
        session.reschedule(BEFORE, capacity=2)
    assert session.capacity == 3


def test_registration_closes_at_the_start():
    session = a_session(3)
    with pytest.raises(Conflict):
        session.register("a", STARTS)


def test_a_cancelled_registration_can_register_again_at_the_back_of_the_line():
    session = a_session(1)
    first = session.register("a", BEFORE)
    session.register("b", BEFORE)
    session.cancel_registration(first, BEFORE)
    again = session.register("a", BEFORE)
    assert again.status == "waitlisted"
    assert session.position_of(again) == 1
    assert session.current_registration("b").status == "confirmed"

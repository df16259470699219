"""Keyset cursors are client input: a crafted one is a 422 naming `cursor`, never a 500; a real one round-trips."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Date, Float, Integer, MetaData, String, Table, select
from sqlalchemy.orm import registry

from cercle_shared.db import UtcDateTime, make_engine, make_session_factory
from cercle_shared.db.keyset import Keyset
from cercle_shared.errors import InvalidInput
from cercle_shared.pagination import MAX_CURSOR_LENGTH, decode_cursor, encode_cursor


def _raw(value: Any) -> str:
    """A cursor carrying any JSON at all, as a client could craft it."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _refused(cursor: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor)
    assert raised.value.field == "cursor"
    assert raised.value.status == 422
    return raised.value


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!!",  # not base64 at all
        "a",  # impossible padding
        "é",  # not ASCII
        "",
        base64.urlsafe_b64encode(b"\xff\xfe not utf-8").decode(),
        base64.urlsafe_b64encode(b"[1, 2").decode(),  # truncated JSON
    ],
)
def test_a_cursor_that_is_not_base64_json_is_refused(cursor):
    _refused(cursor)


@pytest.mark.parametrize("decoded", [{"a": 1}, "text", 3, None, True])
def test_a_cursor_that_is_not_a_json_list_is_refused(decoded):
    _refused(_raw(decoded))


@pytest.mark.parametrize("decoded", [[], [1], [1, 2, 3]])
def test_a_cursor_with_other_than_two_parts_is_refused(decoded):
    _refused(_raw(decoded))


@pytest.mark.parametrize(
    "value",
    [
        {"x": 1},
        {"dt": "2026-09-01T12:00:00+00:00", "extra": 1},
        {"dt": 5},
        {"dt": None},
        {"dt": "not a date"},
        {"dt": "2026-09-01T12:00:00"},  # naive
        [1],
    ],
)
def test_a_cursor_whose_sort_value_is_not_a_scalar_or_an_aware_datetime_is_refused(value):
    _refused(_raw([value, 1]))


@pytest.mark.parametrize("row_id", [True, False, [1], {"id": 1}, None, 1.5])
def test_a_cursor_whose_id_is_not_a_string_or_an_integer_is_refused(row_id):
    _refused(_raw(["a", row_id]))


def test_a_huge_cursor_is_refused_before_decoding():
    _refused("A" * (MAX_CURSOR_LENGTH + 1))
    _refused(_raw([["x"] * 2000, 1]))


def test_a_deeply_nested_cursor_is_refused():
    nested = "[" * 600 + "]" * 600
    _refused(base64.urlsafe_b64encode(f"[{nested}, 1]".encode()).decode())


def test_a_cursor_that_is_not_a_string_is_refused():
    _refused(12)


@pytest.mark.parametrize(
    ("value", "row_id"),
    [
        (datetime(2026, 9, 1, 12, 30, 15, 123456, tzinfo=UTC), "m-1"),
        (datetime(2026, 9, 1, 12, 30, tzinfo=timezone(timedelta(hours=-4))), 7),
        (42, 7),
        (2.5, "x"),
        ("Laval", "id-é"),
        (True, 1),
        (None, "z"),
    ],
)
def test_a_cursor_round_trips_its_value_and_id(value, row_id):
    cursor = encode_cursor(value, row_id)
    assert "=" not in cursor
    decoded_value, decoded_id = decode_cursor(cursor)
    assert decoded_value == value
    assert type(decoded_value) is type(value)
    assert decoded_id == row_id
    if isinstance(value, datetime):
        assert decoded_value.utcoffset() == value.utcoffset()


# --- Keyset.after: the cursor must fit the list's columns -----------------------------------------------------

metadata = MetaData()
rows = Table(
    "rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(20), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("day", Date, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("flag", Boolean, nullable=False),
)


class Row:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


registry().map_imperatively(Row, rows)

AT = datetime(2026, 9, 1, 12, tzinfo=UTC)


def _refused_by(keyset: Keyset, value: Any, row_id: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        keyset.after(_raw([value, row_id]))
    assert raised.value.field == "cursor"


@pytest.mark.parametrize(
    ("keyset", "value", "row_id"),
    [
        (Keyset(Row.rank, Row.id), {"dt": AT.isoformat()}, 1),  # a datetime cursor on an integer column
        (Keyset(Row.rank, Row.id), "3", 1),
        (Keyset(Row.rank, Row.id), True, 1),
        (Keyset(Row.rank, Row.id), 1.5, 1),
        (Keyset(Row.created_at, Row.id), 1700000000, 1),
        (Keyset(Row.created_at, Row.id), "2026-09-01T12:00:00+00:00", 1),
        (Keyset(Row.day, Row.id), {"dt": AT.isoformat()}, 1),
        (Keyset(Row.day, Row.id), 20260901, 1),
        (Keyset(Row.score, Row.id), "high", 1),
        (Keyset(Row.flag, Row.id), 1, 1),
        (Keyset(Row.code, Row.id), 5, 1),
        (Keyset(Row.rank, Row.id), 3, "1"),  # a string id for an integer id column
        (Keyset(Row.rank, Row.code), 3, 1),  # an integer id for a string id column
    ],
)
def test_a_cursor_of_the_wrong_kind_for_the_list_is_refused(keyset, value, row_id):
    _refused_by(keyset, value, row_id)


def test_keyset_after_refuses_what_decode_cursor_refuses():
    with pytest.raises(InvalidInput) as raised:
        Keyset(Row.rank, Row.id).after("!!!!")
    assert raised.value.field == "cursor"


@pytest.mark.parametrize(
    ("keyset", "value", "row_id"),
    [
        (Keyset(Row.rank, Row.id), 3, 1),
        (Keyset(Row.created_at, Row.id), AT, 1),
        (Keyset(Row.day, Row.id), "2026-09-01", 1),
        (Keyset(Row.score, Row.id), 2, 1),  # an integral float comes back from JSON as an int
        (Keyset(Row.score, Row.id), 2.5, 1),
        (Keyset(Row.flag, Row.id), False, 1),
        (Keyset(Row.code, Row.code), "a", "b"),
    ],
)
def test_a_cursor_that_fits_the_list_is_accepted(keyset, value, row_id):
    expected = date.fromisoformat(value) if keyset.sort is Row.day else value  # a day is bound as a date
    assert keyset.after(encode_cursor(value, row_id)) == (expected, row_id)


@pytest.mark.parametrize("value", ["2026-13-01", "yesterday", "2026-09-01T00:00:00+00:00x"])
def test_a_day_cursor_that_is_no_day_is_refused(value):
    with pytest.raises(InvalidInput) as refused:
        Keyset(Row.day, Row.id).after(encode_cursor(value, 1))
    assert refused.value.field == "cursor"


# --- Keyset.page: walking a list with its cursors -------------------------------------------------------------


@pytest.fixture
def db(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    db_factory = make_session_factory(engine)
    with db_factory.begin() as db:
        for n in range(1, 12):
            db.add(
                Row(
                    id=n,
                    code=f"c{n:02}",
                    created_at=AT + timedelta(hours=n // 3),  # ties, broken by id
                    day=date(2026, 9, 1) + timedelta(days=n // 4),
                    rank=n % 4,
                    score=n / 2,
                    flag=n % 2 == 0,
                )
            )
    with db_factory() as db:
        yield db
    engine.dispose()


def _walk(db, keyset: Keyset, limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    for _ in range(20):
        page, cursor = keyset.page(db, select(Row), cursor=cursor, limit=limit)
        seen.extend(row.id for row in page)
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ran out")


@pytest.mark.parametrize("column", ["created_at", "day", "rank", "score", "code"])
@pytest.mark.parametrize("descending", [False, True])
def test_walking_a_list_page_by_page_yields_every_row_once_in_order(db, column, descending):
    keyset = Keyset(getattr(Row, column), Row.id, descending=descending)
    expected = [row.id for row in db.scalars(select(Row)).all()]
    expected.sort(key=lambda n: (getattr(db.get(Row, n), column), n), reverse=descending)
    assert _walk(db, keyset, limit=3) == expected


def test_a_cursor_with_no_sort_value_is_refused_by_page(db):
    with pytest.raises(InvalidInput) as raised:
        Keyset(Row.rank, Row.id).page(db, select(Row), cursor=encode_cursor(None, 1), limit=3)
    assert raised.value.field == "cursor"


@pytest.mark.parametrize("value", [1700000000, "2026-09-01", True])
def test_a_crafted_cursor_on_a_datetime_list_is_refused_before_the_query(db, value):
    # Such a value once reached the UtcDateTime bind and failed there: a 500.
    with pytest.raises(InvalidInput) as raised:
        Keyset(Row.created_at, Row.id).page(db, select(Row), cursor=_raw([value, 1]), limit=3)
    assert raised.value.field == "cursor"

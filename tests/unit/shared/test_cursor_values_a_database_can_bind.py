"""Cursors that decode but carry values no database can bind are as malformed as any other: 422, not a 500."""

from __future__ import annotations

import base64
import json

import pytest

from cercle_shared.errors import InvalidInput
from cercle_shared.pagination import decode_cursor, encode_cursor


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "payload",
    [
        ["a\x00b", "id"],  # PostgreSQL refuses NUL in text
        ["ok", "id\x00"],
        ["\ud800", "id"],  # a lone surrogate cannot be encoded
        [{"dt": "0001-01-01T00:00:00+05:00"}, "id"],  # before year 1 once moved to UTC
        [{"dt": "9999-12-31T23:59:59-05:00"}, "id"],  # after year 9999 once moved to UTC
        [1, 2**70],  # no integer column holds it
        [2**64, "id"],
    ],
    ids=["nul-value", "nul-id", "surrogate", "before-year-1", "after-year-9999", "huge-id", "huge-value"],
)
def test_a_cursor_whose_values_cannot_be_bound_is_refused_naming_cursor(payload):
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(_cursor(payload))
    assert refused.value.field == "cursor"


def test_ordinary_values_still_round_trip():
    assert decode_cursor(encode_cursor("Équipe — Laval", "id-1")) == ("Équipe — Laval", "id-1")
    assert decode_cursor(encode_cursor(2**62, 7)) == (2**62, 7)

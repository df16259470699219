"""Text rules every layer may apply (no framework here: domains use them too)."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


def check_single_line(value: str) -> None:
    """Raise ValueError when `value` holds a control character (CR and LF included)."""
    if _CONTROL.search(value):
        raise ValueError("control characters (such as line breaks) are not allowed")


def one_line(value: str) -> str:
    """A stored value made safe for a single-line context (an email header, a calendar property)."""
    return " ".join(_CONTROL.sub(" ", value).split())

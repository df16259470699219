"""Text from the broker or the engine shown in the operator's terminal: never read as rich markup (a "[/]" in a
dead letter's error or a partner's consumer-group name would stop the table), never a control character (an escape
sequence in a header would drive the terminal)."""

from __future__ import annotations

import unicodedata

from rich.text import Text


def printable(value: object) -> str:
    """`value` as text, each control or format character written as its escape (\\x1b, \\u202e)."""
    return "".join(
        char if unicodedata.category(char) not in ("Cc", "Cf") else char.encode("unicode_escape").decode()
        for char in str(value)
    )


def cell(value: object) -> Text:
    """A table cell showing `value` as it is: no markup, no control characters."""
    return Text(printable(value))

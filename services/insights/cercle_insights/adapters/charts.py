"""Charts as SVG or PNG bytes, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Output is deterministic for the same input: SVG ids come from a fixed hash salt, no creation date is written in
either format, and the text of an SVG stays text (searchable, read by screen readers). Every SVG opens with a
<title> and a <desc> (the alt text) that assistive technologies announce. Labels arrive already translated.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from html import escape

import matplotlib

matplotlib.use("Agg")  # before any figure: a server has no display

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

_RC = {
    "svg.hashsalt": "cercle",  # stable ids, hence byte-identical SVG for the same figures
    "svg.fonttype": "none",  # text stays <text>: smaller, selectable, readable by assistive technology
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
# Colour-blind-safe (Okabe–Ito), in the order series are drawn.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH, HEIGHT, DPI = 7.0, 3.6, 100
# rc_context changes matplotlib's global settings: one chart at a time (routes run in a thread pool).
_LOCK = threading.Lock()


class Format(StrEnum):
    SVG = "svg"
    PNG = "png"


MEDIA_TYPES = {Format.SVG: "image/svg+xml", Format.PNG: "image/png"}


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]  # None: no figure for that point (not enough answers, no data)


def line_chart(
    *,
    title: str,
    alt: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    y_label: str,
    y_max: float | None = None,
    empty_text: str = "",
    fmt: Format = Format.SVG,
    titled: bool = True,
) -> bytes:
    """One line per series over categories in order (dates, months); a None leaves a gap."""
    with _LOCK, matplotlib.rc_context(_RC):
        fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
        ax = fig.add_subplot()
        positions = list(range(len(x_labels)))
        for i, s in enumerate(series):
            values = [float("nan") if v is None else v for v in s.values]
            ax.plot(positions, values, marker="o", label=s.label, color=PALETTE[i % len(PALETTE)], linewidth=2)
        _x_axis(ax, x_labels)
        if all(float(v).is_integer() for s in series for v in s.values if v is not None):
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of people: no 17.5
        _finish(
            fig,
            ax,
            title if titled else "",
            y_label,
            y_max,
            legend=len(series) > 1,
            empty=not _any(series),
            empty_text=empty_text,
        )
        return _render(fig, fmt, title, alt)


def bar_chart(
    *,
    title: str,
    alt: str,
    categories: Sequence[str],
    series: Sequence[Series],
    y_label: str,
    y_max: float | None = None,
    horizontal: bool = False,
    empty_text: str = "",
    fmt: Format = Format.SVG,
    titled: bool = True,
) -> bytes:
    """Grouped bars, one group per category and one bar per series; each bar carries its value."""
    with _LOCK, matplotlib.rc_context(_RC):
        fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
        ax = fig.add_subplot()
        width = 0.8 / max(1, len(series))
        for i, s in enumerate(series):
            offset = (i - (len(series) - 1) / 2) * width
            positions = [p + offset for p in range(len(categories))]
            values = [0.0 if v is None else v for v in s.values]
            color = PALETTE[i % len(PALETTE)]
            bars = (
                ax.barh(positions, values, height=width, label=s.label, color=color)
                if horizontal
                else ax.bar(positions, values, width=width, label=s.label, color=color)
            )
            ax.bar_label(bars, labels=[_number(v) for v in s.values], padding=2, fontsize=8)
        if horizontal:
            ax.set_yticks(range(len(categories)), list(categories))
            ax.invert_yaxis()  # the first step on top, as a funnel reads
        else:
            _x_axis(ax, categories)
        _finish(
            fig,
            ax,
            title if titled else "",
            y_label,
            y_max,
            legend=len(series) > 1,
            empty=not _any(series),
            empty_text=empty_text,
            horizontal=horizontal,
        )
        return _render(fig, fmt, title, alt)


def _any(series: Sequence[Series]) -> bool:
    return any(v is not None for s in series for v in s.values)


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _x_axis(ax, labels: Sequence[str]) -> None:  # type: ignore[no-untyped-def]
    ax.set_xticks(range(len(labels)), list(labels))
    if len(labels) > 6:
        ax.tick_params(axis="x", labelrotation=45)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")


def _finish(  # type: ignore[no-untyped-def]
    fig, ax, title, y_label, y_max, *, legend: bool, empty: bool, empty_text: str, horizontal: bool = False
) -> None:
    if title:  # a page that shows the chart under its own heading draws it untitled (the SVG keeps its <title>)
        ax.set_title(title, loc="left", fontweight="bold")
    (ax.set_xlabel if horizontal else ax.set_ylabel)(y_label)
    if y_max is not None:
        (ax.set_xlim if horizontal else ax.set_ylim)(0, y_max * (1.12 if horizontal else 1.05))
    ax.grid(axis="x" if horizontal else "y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if empty and empty_text:
        ax.text(0.5, 0.5, empty_text, transform=ax.transAxes, ha="center", va="center", color="#555555")
    if legend:
        ax.legend(frameon=False, fontsize=8, loc="best")
    fig.tight_layout()


def _render(fig: Figure, fmt: Format, title: str, alt: str) -> bytes:
    out = io.BytesIO()
    if fmt is Format.PNG:
        fig.savefig(out, format="png", metadata={"Software": None, "Title": title, "Description": alt})
        return out.getvalue()
    fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None, "Title": title, "Description": alt})
    return _accessible_svg(out.getvalue().decode(), title, alt).encode()


_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


def _accessible_svg(svg: str, title: str, alt: str) -> str:
    """role=img with a <title> and a <desc> first in the document: what a screen reader announces."""
    match = _SVG_OPEN.search(svg)
    if match is None:  # pragma: no cover - matplotlib always writes one
        return svg
    opening = match.group(0)[:-1] + f' role="img" aria-label="{escape(title)}">'
    head = f"<title>{escape(title)}</title><desc>{escape(alt)}</desc>"
    return svg[: match.start()] + opening + head + svg[match.end() :]


def inline_svg(svg: bytes) -> str:
    """The <svg> element alone (no XML declaration, no DOCTYPE), to put in an HTML page."""
    text = svg.decode()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def series_of(mapping: Mapping[str, Sequence[float | None]]) -> list[Series]:
    return [Series(label, values) for label, values in mapping.items()]

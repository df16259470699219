"""Charts: the same figures give the same bytes, every SVG says what it shows, and missing figures are shown as such."""

from __future__ import annotations

import re

from cercle_insights.adapters import charts

SERIES = [charts.Series("Taux", [80.0, None, 90.0]), charts.Series("Autre", [10.0, 20.0, 30.0])]


def _line(**kw):
    args = {"title": "Présence", "alt": "Trois points.", "x_labels": ["a", "b", "c"], "series": SERIES, "y_label": "%"}
    return charts.line_chart(**{**args, **kw})


def test_the_same_figures_give_byte_identical_svg_and_png():
    assert _line() == _line()
    assert _line(fmt=charts.Format.PNG) == _line(fmt=charts.Format.PNG)
    bars = {"title": "t", "alt": "a", "categories": ["x", "y"], "series": [charts.Series("s", [1, 2])], "y_label": "n"}
    assert charts.bar_chart(**bars) == charts.bar_chart(**bars)


def test_an_svg_has_no_date_and_opens_with_its_title_and_description():
    svg = _line().decode()
    assert "<dc:date>" not in svg
    assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", svg) is None
    opening = re.search(r"<svg\b[^>]*>", svg)
    assert opening is not None
    assert 'role="img"' in opening.group(0)
    assert svg[opening.end() :].startswith("<title>Présence</title><desc>Trois points.</desc>")


def test_titles_and_alt_texts_are_escaped():
    svg = _line(title='<script>"x"</script>', alt="a & b").decode()
    assert "<script>" not in svg
    assert "<title>&lt;script&gt;&quot;x&quot;&lt;/script&gt;</title>" in svg
    assert "<desc>a &amp; b</desc>" in svg


def test_a_chart_without_any_figure_says_so():
    empty = [charts.Series("Taux", [None, None])]
    svg = charts.line_chart(
        title="t", alt="a", x_labels=["a", "b"], series=empty, y_label="%", empty_text="Pas encore de données"
    )
    assert "Pas encore de données" in svg.decode()


def test_text_stays_text_and_an_untitled_chart_keeps_its_svg_title():
    svg = _line(titled=False).decode()
    assert "<title>Présence</title>" in svg
    titled = _line().decode()
    assert titled.count("Présence") == svg.count("Présence") + 1  # drawn once more: as the plot's heading
    assert "Taux" in svg  # the legend is text, not paths


def test_inline_svg_drops_the_xml_prologue():
    inline = charts.inline_svg(_line())
    assert inline.startswith("<svg ")
    assert "<?xml" not in inline
    assert "<!DOCTYPE" not in inline


def test_a_png_is_a_png():
    assert _line(fmt=charts.Format.PNG).startswith(b"\x89PNG\r\n\x1a\n")

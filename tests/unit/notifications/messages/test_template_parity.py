"""Every message exists in French and in English, with the same variables, on the shared layout; the catalogue a
translator reads has the same keys in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import meta

from cercle_notifications.adapters.templates import CATALOGUE, EmailTemplates
from cercle_notifications.domain.model import CATEGORY_OF, LANGUAGES, Category, EmailKind

TEMPLATES = EmailTemplates()
ROOT = TEMPLATES.directory


def _files(language: str) -> set[str]:
    return {p.name for p in (ROOT / language).iterdir() if p.is_file()}


def _variables(path: Path) -> set[str]:
    env = TEMPLATES.environment
    return meta.find_undeclared_variables(env.parse(path.read_text(encoding="utf-8")))


def _keys(tree: object, prefix: str = "") -> set[str]:
    if not isinstance(tree, dict):
        return {prefix}
    return {key for name, value in tree.items() for key in _keys(value, f"{prefix}.{name}" if prefix else name)}


def test_both_languages_have_the_same_template_files():
    assert _files("fr") == _files("en")


@pytest.mark.parametrize("name", sorted(_files("fr") - {CATALOGUE}))
def test_a_template_uses_the_same_variables_in_both_languages(name):
    assert _variables(ROOT / "fr" / name) == _variables(ROOT / "en" / name), name


def test_the_catalogue_has_the_same_keys_in_both_languages():
    fr, en = (_keys(TEMPLATES.catalogue(language)) for language in ("fr", "en"))
    assert fr == en, f"only in fr: {sorted(fr - en)}; only in en: {sorted(en - fr)}"


@pytest.mark.parametrize("kind", sorted(EmailKind))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_has_a_subject_and_a_body_on_the_shared_layout(kind, language):
    assert (ROOT / language / f"{kind}.subject.j2").is_file()
    body = (ROOT / language / f"{kind}.txt.j2").read_text(encoding="utf-8")
    assert body.startswith('{% extends "_layout.txt.j2" %}'), f"{language}/{kind} does not extend the layout"
    html = ROOT / language / f"{kind}.html.j2"
    if html.exists():
        assert html.read_text(encoding="utf-8").startswith('{% extends "_layout.html.j2" %}')


def test_every_category_has_its_words_in_the_catalogue():
    for language in LANGUAGES:
        catalogue = TEMPLATES.catalogue(language)
        for category in Category:
            for section in ("why", "unsubscribe", "categories"):
                assert catalogue[section][category], f"{language}: {section}.{category}"
    assert set(CATEGORY_OF.values()) <= set(Category)


def test_html_autoescapes_and_text_does_not():
    env = TEMPLATES.environment
    assert env.autoescape("_layout.html.j2") if callable(env.autoescape) else env.autoescape
    assert not (env.autoescape("_layout.txt.j2") if callable(env.autoescape) else False)

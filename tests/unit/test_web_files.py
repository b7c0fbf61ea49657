"""The web page's static files keep to what CloudFront's Content-Security-Policy allows and need no build:
no inline script, style or event handler, nothing loaded from another origin, every referenced file present."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
IMPORT = re.compile(r"""^\s*import\s.*?from\s+["']([^"']+)["'];?\s*$""", re.MULTILINE)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline_scripts = 0
        self.inline_styles: list[str] = []
        self.handlers: list[str] = []
        self.ids: list[str] = []
        self._in_script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.handlers += [f"{tag}[{name}]" for name in attributes if name.startswith("on")]
        if "style" in attributes:
            self.inline_styles.append(tag)
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        for name in ("src", "href"):
            value = attributes.get(name)
            if value and not value.startswith(("#", "data:")):
                self.references.append(value)
        self._in_script_without_src = tag == "script" and "src" not in attributes
        if tag == "style":
            self.inline_styles.append("<style>")

    def handle_data(self, data: str) -> None:
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script_without_src = False


@pytest.fixture(scope="module")
def page() -> _Page:
    parser = _Page()
    parser.feed((WEB / "index.html").read_text())
    return parser


def test_index_html_has_no_inline_script_style_or_handler(page: _Page) -> None:
    # Given index.html parsed
    # Then nothing in it needs 'unsafe-inline' in the CSP
    assert page.inline_scripts == 0
    assert page.inline_styles == []
    assert page.handlers == []


def test_index_html_loads_only_files_that_exist_next_to_it(page: _Page) -> None:
    # Given every src/href of index.html
    # Then each is a relative path to a file in web/ (no CDN, no other origin)
    assert page.references
    for reference in page.references:
        assert ":" not in reference, reference
        assert not reference.startswith("//"), reference
        assert (WEB / reference).is_file(), reference


def test_index_html_ids_are_unique(page: _Page) -> None:
    # Given the ids the script and the browser test look elements up by
    # Then no id appears twice
    assert len(page.ids) == len(set(page.ids))


def test_scripts_import_only_relative_modules_that_exist() -> None:
    # Given every JavaScript module of the page
    scripts = sorted(WEB.rglob("*.js"))
    assert scripts
    for script in scripts:
        source = script.read_text()
        # Then imports are relative files (no bare package names, no URLs: no bundler, no download)
        for target in IMPORT.findall(source):
            assert target.startswith("./") or target.startswith("../"), f"{script.name}: {target}"
            assert (script.parent / target).resolve().is_file(), f"{script.name}: {target}"
        # And nothing is turned into HTML or code from strings
        for dangerous in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function"):
            assert dangerous not in source, f"{script.name}: {dangerous}"


def test_every_element_the_script_looks_up_by_id_exists(page: _Page) -> None:
    # Given the ids app.js selects with $("#...")
    wanted = set(re.findall(r"""\$\("#([\w-]+)"\)""", (WEB / "app.js").read_text()))
    # Then index.html has each of them
    assert wanted
    assert wanted <= set(page.ids), sorted(wanted - set(page.ids))

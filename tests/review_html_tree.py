"""A small element tree of an HTML page, built with the standard library's html.parser.

Enough for the review report's tests: find elements by tag, id or class, read their text
(entities decoded, as a browser shows it) and attributes. Void elements (``meta``, ``br``,
SVG shapes written ``<rect/>``) close themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed",
                  "source", "track", "wbr"})


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    children: list[Element | str] = field(default_factory=list)
    parent: Element | None = None

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def text(self) -> str:
        """The text inside, as one string (whitespace kept as written)."""
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self) -> str:
        """The text inside with runs of whitespace made one space, trimmed."""
        return " ".join(self.text().split())

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [e for e in self.iter() if (tag is None or e.tag == tag)
                and (cls is None or cls in e.classes)]

    def find(self, tag: str | None = None, cls: str | None = None) -> Element:
        found = self.find_all(tag, cls)
        assert found, f"no <{tag or '*'}> with class {cls!r} in <{self.tag}>"
        return found[0]

    def by_id(self, ident: str) -> Element:
        found = [e for e in self.iter() if e.attrs.get("id") == ident]
        assert len(found) == 1, f"{len(found)} elements with id {ident!r}"
        return found[0]

    def rows(self) -> list[list[str]]:
        """A table's body rows as lists of cell texts (th and td)."""
        body = self.find("tbody") if self.find_all("tbody") else self
        return [[cell.words() for cell in row.children
                 if isinstance(cell, Element) and cell.tag in ("td", "th")]
                for row in body.find_all("tr")]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), parent=self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Element(tag, dict(attrs), parent=self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is None or node.parent is None:
            self.errors.append(f"stray </{tag}>")
            return
        if node is not self.current:
            self.errors.append(f"</{tag}> closes <{self.current.tag}>")
        self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> tuple[Element, list[str]]:
    """The page's tree and the nesting errors met (an empty list for well-formed markup)."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    if builder.current is not builder.root:
        builder.errors.append(f"<{builder.current.tag}> never closed")
    return builder.root, builder.errors


def review_page(data: dict[str, Any]) -> Element:
    """The review's HTML page, parsed; it must encode as UTF-8 and nest correctly."""
    from service.review.html import render_review_html
    from tests.review_factory import validated

    html = render_review_html(validated(data))
    html.encode("utf-8")  # the file is written as UTF-8: every character must encode
    tree, errors = parse(html)
    assert errors == []
    return tree

"""A written HTML page parsed into a small element tree (stdlib html.parser), so tests check what
a browser would see (ids, links, cells, text) rather than the markup's exact spelling."""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list = field(default_factory=list)   # Element or str

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self, tag: str | None = None):
        """This element and every element below it (document order), optionally of one tag."""
        if tag is None or self.tag == tag:
            yield self
        for c in self.children:
            if isinstance(c, Element):
                yield from c.iter(tag)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        el = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):   # close up to the matching open element
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    b = _Builder()
    b.feed(html)
    b.close()
    return b.root


def by_id(root: Element) -> dict[str, Element]:
    """Every element with an id; a duplicate id fails (a link could not say which one it means)."""
    out: dict[str, Element] = {}
    for el in root.iter():
        if "id" in el.attrs:
            assert el.attrs["id"] not in out, f"duplicate id {el.attrs['id']!r}"
            out[el.attrs["id"]] = el
    return out

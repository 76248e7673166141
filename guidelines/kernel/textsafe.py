"""Text from data made safe to process, store and show.

* Lone UTF-16 surrogates (valid JSON, e.g. ``"\\ud800"``: an emoji cut at a token limit)
  cannot be encoded as UTF-8, so spaCy, hashing and every writer would crash on them. They
  are replaced by U+FFFD and the caller is told, so the record can be flagged.
* Control characters and bidirectional overrides from responses or model names can clear a
  terminal, set its title or reorder what an auditor reads. Terminal output escapes them
  (ESC is shown as the six characters ``\\u001b``), and reports mark them.
"""
from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls except tab/newline, DEL, C1 controls, bidi embeddings/overrides/isolates,
# zero-width and other invisible format characters, line/paragraph separators.
_INVISIBLE = "\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb"
# tab and newline (and a CR that ends a line, as in CSV output) stay as they are
_UNSAFE = re.compile(f"\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f{_INVISIBLE}]")
_UNSAFE_NO_NL = re.compile(f"[\x00-\x1f{_INVISIBLE}]")


def repair_text(text: str) -> tuple[str, bool]:
    """``text`` with lone surrogates replaced by U+FFFD, and whether any were."""
    if text.isascii() or _SURROGATE.search(text) is None:  # isascii: one C pass, no regex
        return text, False
    # A correctly paired surrogate (only possible in str built by hand) is joined first.
    fixed = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _SURROGATE.sub("\ufffd", fixed), True


def repair(value: Any) -> tuple[Any, bool]:
    """Deep ``repair_text`` over JSON-like data (keys too)."""
    if isinstance(value, str):
        return repair_text(value)
    if isinstance(value, dict):
        changed = False
        out = {}
        for k, v in value.items():
            k2, c1 = repair(k) if isinstance(k, str) else (k, False)
            v2, c2 = repair(v)
            out[k2] = v2
            changed |= c1 or c2
        return (out if changed else value), changed
    if isinstance(value, list):
        items = [repair(v) for v in value]
        if any(c for _, c in items):
            return [v for v, _ in items], True
        return value, False
    return value, False


def _escape(m: re.Match) -> str:
    # \uXXXX: readable, and still a valid escape when the text is a JSON document
    return f"\\u{ord(m.group(0)):04x}"


def terminal_safe(text: object, keep_newlines: bool = True) -> str:
    """``text`` with control, bidi and invisible characters shown as escapes (``\\u001b``)."""
    s = repair_text(str(text))[0]
    return (_UNSAFE if keep_newlines else _UNSAFE_NO_NL).sub(_escape, s)


def has_unsafe_characters(text: str) -> bool:
    """Whether ``text`` holds any character ``unsafe_characters`` would list."""
    return _UNSAFE.search(text or "") is not None


def unsafe_characters(text: str) -> list[str]:
    """The distinct control/bidi/invisible characters in ``text``, as escapes (for reports)."""
    return sorted({_escape(m) for m in _UNSAFE.finditer(text or "")})


def mark_unsafe(text: str) -> str:
    """``text`` with each control/bidi/invisible character replaced by a visible ``[U+202E]``
    (for reports: the HTML and Markdown show the mark instead of acting on the character;
    NUL bytes never reach them)."""
    return _UNSAFE.sub(lambda m: f"[U+{ord(m.group(0)):04X}]", repair_text(text)[0])

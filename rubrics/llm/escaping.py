"""Keep judged text inside its delimiters.

The prompt fences the response in <response>...</response>. A response containing
"</response>" could close the fence early and smuggle text into the judge's instructions,
so the opening bracket of our own tag names is escaped, and un-escaped when the judge's
quotes are mapped back to the original text.
"""
from __future__ import annotations

import re

TAG_NAMES = ("response", "conversation", "criterion", "criteria", "question", "instructions")
_OPEN = re.compile(rf"<(\s*/?\s*(?:{'|'.join(TAG_NAMES)})\b)", re.I)
_ESCAPED = re.compile(rf"&lt;(\s*/?\s*(?:{'|'.join(TAG_NAMES)})\b)", re.I)


def escape_tags(text: str) -> str:
    return _OPEN.sub(r"&lt;\1", text)


def unescape_tags(text: str) -> str:
    return _ESCAPED.sub(r"<\1", text)

"""What a guideline file really is, judged from its bytes rather than its name.

Downloads go wrong in ordinary ways: a login page saved as ``guideline.pdf``, a PDF renamed
to ``.md``, a Word export in Windows-1252. Each is caught here with a one-line error naming
the file before any parser sees it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from rubricate.guidelines.kernel.errors import InputError

EXTENSION_TYPES = {
    ".pdf": "application/pdf",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
    ".text": "text/plain",
    ".html": "text/html",
    ".htm": "text/html",
}
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a ZIP archive (a .docx or .epub?)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.doc?)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{\\rtf", "an RTF document"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)
_DESCRIBE = {"application/pdf": "a PDF", "text/html": "an HTML page (a saved web page or a "
             "login/error page?)", "text": "plain text"}


def sniff(data: bytes) -> str:
    """The type the bytes say they are: "application/pdf", "text/html", "text", or a short
    description of some other format."""
    start = data.find(b"%PDF-", 0, 1024)  # readers accept a little junk before the header
    if start == 0 or (start > 0 and b"\n" not in data[:start]):
        return "application/pdf"
    for magic, description in _MAGIC:
        if data.startswith(magic):
            return description
    if b"\x00" in data[:8192]:
        return "binary data"
    head = data[:2048].decode("utf-8", "ignore").lstrip("\ufeff \t\r\n").lower()
    if head.startswith(("<!doctype html", "<html")) or (head.startswith("<?xml") and "<html" in head):
        return "text/html"
    return "text"


def describe(kind: str) -> str:
    """``sniff``'s answer as words for a message ("an HTML page (...)", "a PNG image")."""
    return _DESCRIBE.get(kind, kind)


def media_type(path: Path, data: bytes, plugins: Mapping[str, str] | None = None) -> str:
    """The media type to parse ``path`` as, after checking that its bytes match its
    extension and that text is UTF-8; raises RubricateError otherwise.

    ``plugins`` maps further extensions to the media types of plug-in extractors
    (extractors.py); their bytes are checked by the extractor itself.
    """
    if not data:
        raise InputError("file is empty (0 bytes)", path=str(path))
    suffix = path.suffix.lower()
    expected = EXTENSION_TYPES.get(suffix)
    if expected is None and plugins and suffix in plugins:
        return plugins[suffix]
    if expected is None:
        known = ", ".join(sorted({*EXTENSION_TYPES, *(plugins or {})}))
        raise InputError(f"unsupported file type {suffix or '(no extension)'!r}; expected "
                             f"one of {known}", path=str(path))
    actual = sniff(data)
    if actual == expected or (actual == "text" and expected != "application/pdf"):
        if expected != "application/pdf":
            check_utf8(path, data)
        return expected
    raise InputError(f"named {suffix} but contains {_DESCRIBE.get(actual, actual)}",
                         path=str(path))


def check_utf8(path: Path, data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
                             f"{exc.start}); re-save it as UTF-8", path=str(path), line=line) from None

"""Read a PDF's characters into words per page: pypdfium2 (default) or pdfplumber (old path).

pypdfium2 reads characters and their boxes in C, 5-10x faster than pdfminer; the pdfplumber
reader is kept so tests and the benchmark can compare the two on the same layout code.
Both drop rotated and vertical text (watermarks such as "Downloaded from ... by guest",
margin notes) and count it, and both replace a run of characters that a font cannot map to
Unicode (pdfminer's "(cid:N)") with one UNMAPPED marker and count it, so no code ever
reaches the text. pdfium already maps what a font's encoding allows without a ToUnicode
table (standard and named encodings); only what is left is marked. A CID font's glyph ids
are not guessed back into characters: a wrong guess reads as text, a marker does not.
"""
from __future__ import annotations

import ctypes
import math
import re
from pathlib import Path
from typing import Callable, Iterator

import pypdfium2 as pdfium
import pypdfium2.raw as raw

from rubricate.guidelines.kernel.errors import InputError, RubricateError
from rubricate.guidelines.sources.pdf.page import UNMAPPED, Page

WORD_GAP = 0.15  # a gap wider than this share of the font size separates words (TeX output
# often has no space characters and gaps below pdfplumber's fixed 3 pt default)
READERS = ("pdfium", "pdfplumber")
_CID = re.compile(r"(?:\(cid:\d+\))+")
_WORD_KEYS = ("text", "x0", "x1", "top", "bottom", "size", "fontname")
Progress = Callable[[int, int], None]  # (pages done, page count)


def is_bold(fontname: str, weight: int = 0) -> bool:
    name = fontname.lower()
    return weight >= 600 or any(k in name for k in ("bold", "black", "heavy", "semibold", "demi"))


def read_pages(path: Path, reader: str = "pdfium", progress: Progress | None = None
               ) -> tuple[list[Page], list[str | None] | None]:
    """Pages with words and ruling lines, and the /PageLabels table (None when absent)."""
    check_complete(path)
    if reader == "pdfplumber":
        return _plumber_pages(path, progress)
    return _pdfium_pages(path, progress)


def check_complete(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise InputError("file is empty (0 bytes)", path=str(path))
    with path.open("rb") as handle:
        handle.seek(max(0, size - 2048))
        if b"%%EOF" not in handle.read():
            raise InputError("PDF is truncated or incomplete (no %%EOF marker at the end); "
                                 "download or export it again", path=str(path))


def _describe(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _no_pages(path: Path) -> InputError:
    return InputError("PDF has no pages (damaged or unreadable file?)", path=str(path))


def _encrypted(path: Path) -> InputError:
    return InputError("PDF is encrypted and needs a password; save a decrypted copy "
                          "(e.g. qpdf --decrypt) and add that", path=str(path))


# ---- pypdfium2 ------------------------------------------------------------------------------

def _pdfium_pages(path: Path, progress: Progress | None) -> tuple[list[Page], list[str | None] | None]:
    try:
        pdf = pdfium.PdfDocument(str(path))
        count = len(pdf)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            raise _encrypted(path) from None
        if "security" in text:
            raise InputError(f"PDF uses an unsupported encryption ({exc})", path=str(path)) from None
        raise InputError(f"PDF is damaged or unreadable ({_describe(exc)})", path=str(path)) from None
    try:
        if not count:
            raise _no_pages(path)
        pages = []
        for index in range(count):
            try:
                page = pdf[index]
                pages.append(_pdfium_page(page, index + 1))
                page.close()
            except RubricateError:
                raise
            except Exception as exc:
                raise InputError(f"cannot read page content ({_describe(exc)})",
                                     path=str(path), page=index + 1) from None
            if progress:
                progress(index + 1, count)
        labels = [pdf.get_page_label(i) or None for i in range(count)]
        return pages, labels if any(labels) else None
    finally:
        pdf.close()


def _pdfium_page(page, number: int) -> Page:
    width, height = page.get_size()
    words, edges, images = [], [], False
    rotated = unmapped = 0
    for kind, (left, bottom, right, top) in _page_objects(page, raw):
        if kind == raw.FPDF_PAGEOBJ_IMAGE:
            images = True
        elif kind == raw.FPDF_PAGEOBJ_PATH:
            edges.extend(_rect_edges(left, height - top, right, height - bottom))
    tp = raw.FPDFText_LoadPage(page.raw)
    try:
        n = raw.FPDFText_CountChars(tp)
        text = _pdfium_text(raw, tp, n)
        box = raw.FS_RECTF()
        get_box, get_obj = raw.FPDFText_GetLooseCharBox, raw.FPDFText_GetTextObject
        map_error = raw.FPDFText_HasUnicodeMapError
        styles: dict[int, tuple] = {}
        cur: list = []  # chars of the word being built: (char, x0, x1, top, bottom)
        cur_style = None
        marked = False  # the last character added was an UNMAPPED marker

        def close() -> None:
            if cur:
                style = cur_style
                words.append({"text": "".join(c[0] for c in cur), "x0": cur[0][1],
                              "x1": max(c[2] for c in cur), "top": min(c[3] for c in cur),
                              "bottom": max(c[4] for c in cur), "size": style[1],
                              "fontname": style[0], "bold": style[2]})
                cur.clear()

        for k in range(n):
            obj = get_obj(tp, k)
            key = ctypes.cast(obj, ctypes.c_void_p).value if obj else None
            if key is None:  # a space or line break pdfium generated
                close()
                marked = False
                continue
            style = styles.get(key)
            if style is None:
                style = styles[key] = _style(raw, tp, k, obj)
            char = text[k]
            if not style[3]:  # rotated or vertical
                rotated += 1
                continue
            if style[4] and map_error(tp, k):
                if marked:
                    continue
                char, marked = UNMAPPED, True
                unmapped += 1
            else:
                marked = False
            if char.isspace():
                close()
                continue
            get_box(tp, k, box)
            x0, x1, b_top, b_bottom = box.left, box.right, height - box.top, height - box.bottom
            if cur and (style is not cur_style or x0 > cur[-1][2] + WORD_GAP * style[1]
                        or x0 < cur[-1][1] - 0.5 or abs(b_top - cur[-1][3]) > 3):
                close()
            cur_style = style
            cur.append((char, x0, x1, b_top, b_bottom))
        close()
    finally:
        raw.FPDFText_ClosePage(tp)
    return Page(number, width, height, words, edges, images, rotated, unmapped)


def _pdfium_text(raw, tp, n: int) -> str:
    """The page's characters, one per char index."""
    if not n:
        return ""
    buffer = ctypes.create_string_buffer(n * 2 + 2)
    got = raw.FPDFText_GetText(tp, 0, n, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)))
    text = buffer.raw[:max(0, got - 1) * 2].decode("utf-16-le", "replace")
    if len(text) != n:  # characters outside the BMP: read one by one
        text = "".join(chr(raw.FPDFText_GetUnicode(tp, k) or 0xFFFD) for k in range(n))
    return text.replace("\ufffe", "-")  # pdfium marks a hyphen at a line end as U+FFFE


def _style(raw, tp, k: int, obj) -> tuple:
    """(fontname, size, bold, upright, maybe unmapped) of a text object."""
    font = raw.FPDFTextObj_GetFont(obj)
    name, weight = "", 0
    if font:
        buffer = ctypes.create_string_buffer(256)
        length = raw.FPDFFont_GetBaseFontName(font, buffer, 256)
        name = buffer.raw[:max(0, length - 1)].decode("utf-8", "replace")
        weight = raw.FPDFFont_GetWeight(font)
    angle = raw.FPDFText_GetCharAngle(tp, k)
    upright = min(abs(angle), abs(angle - 2 * math.pi)) < 0.01 or angle < 0
    size = raw.FPDFText_GetFontSize(tp, k)
    suspect = bool(raw.FPDFText_HasUnicodeMapError(tp, k))
    return (name, round(size, 2), is_bold(name, weight), upright, suspect)


def _page_objects(page, raw) -> Iterator[tuple[int, tuple[float, float, float, float]]]:
    """(type, bounds) of the page's top-level image and path objects."""
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    for i in range(raw.FPDFPage_CountObjects(page.raw)):
        obj = raw.FPDFPage_GetObject(page.raw, i)
        kind = raw.FPDFPageObj_GetType(obj)
        if kind in (raw.FPDF_PAGEOBJ_IMAGE, raw.FPDF_PAGEOBJ_PATH) and raw.FPDFPageObj_GetBounds(
                obj, ctypes.byref(left), ctypes.byref(bottom), ctypes.byref(right), ctypes.byref(top)):
            yield kind, (left.value, bottom.value, right.value, top.value)


def _rect_edges(x0: float, top: float, x1: float, bottom: float) -> list[dict]:
    """A thin path is one ruling line; a box gives its four sides."""
    if bottom - top < 2 and x1 - x0 < 2:
        return []
    if bottom - top < 2:
        return [_edge(x0, x1, (top + bottom) / 2, (top + bottom) / 2, "h")]
    if x1 - x0 < 2:
        return [_edge((x0 + x1) / 2, (x0 + x1) / 2, top, bottom, "v")]
    return [_edge(x0, x1, top, top, "h"), _edge(x0, x1, bottom, bottom, "h"),
            _edge(x0, x0, top, bottom, "v"), _edge(x1, x1, top, bottom, "v")]


def _edge(x0: float, x1: float, top: float, bottom: float, orientation: str) -> dict:
    return {"x0": x0, "x1": x1, "top": top, "bottom": bottom, "orientation": orientation,
            "width": x1 - x0, "height": bottom - top, "object_type": "line"}


# ---- pdfplumber (the old path) -------------------------------------------------------------

def _plumber_pages(path: Path, progress: Progress | None) -> tuple[list[Page], list[str | None] | None]:
    import pdfplumber  # start-up time: pdfminer loads only when the old reader is asked for
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect  # start-up time
    from pdfplumber.utils.exceptions import PdfminerException  # start-up time
    try:
        pdf = pdfplumber.open(path)
        count = len(pdf.pages)
    except Exception as exc:  # pdfminer raises many types on damaged files
        cause = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
        if isinstance(cause, PDFPasswordIncorrect):
            raise _encrypted(path) from None
        if isinstance(cause, PDFEncryptionError):
            raise InputError(f"PDF uses an unsupported encryption ({cause})", path=str(path)) from None
        raise InputError(f"PDF is damaged or unreadable ({_describe(cause)})", path=str(path)) from None
    with pdf:
        if not count:
            raise _no_pages(path)
        pages = []
        for page in pdf.pages:
            try:
                found = page.extract_words(extra_attrs=["size", "fontname"], x_tolerance_ratio=WORD_GAP)
                words, rotated, unmapped = [], 0, 0
                for w in found:
                    if not w["upright"]:
                        rotated += len(w["text"])
                        continue
                    word = {key: w[key] for key in _WORD_KEYS}
                    if "(cid:" in word["text"]:
                        unmapped += len(_CID.findall(word["text"]))
                        word["text"] = _CID.sub(UNMAPPED, word["text"])
                    word["bold"] = is_bold(word["fontname"])
                    words.append(word)
                edges = [_edge(e["x0"], e["x1"], e["top"], e["bottom"], e["orientation"])
                         for e in page.edges]
                pages.append(Page(page.page_number, float(page.width), float(page.height), words,
                                  edges, bool(page.images), rotated, unmapped))
            except Exception as exc:
                raise InputError(f"cannot read page content ({_describe(exc)})",
                                     path=str(path), page=page.page_number) from None
            page.close()
            if progress:
                progress(page.page_number, count)
        try:
            labels_iter = pdf.doc.get_page_labels()
            labels = [next(labels_iter) or None for _ in range(count)]
        except Exception:
            labels = None
        return pages, labels

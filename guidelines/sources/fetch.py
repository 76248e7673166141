"""Download a registered document's public file into the workspace and register it.

Why: most of the mapping review's documents are free to read online, so verified citations
are one download away. The file a URL serves is only trusted after its bytes say what it is
(a login page saved as ``.pdf`` is the ordinary failure), and it becomes the document's
``source`` edition with where and when it came from (URL, final URL, size, SHA-256, time:
a PROV activity in the knowledge base). Fetched files live in the workspace's sources folder,
never in the package or the repository.

Nothing half-written: the body streams into a hidden ``.part`` file beside the destination;
a cut-off transfer is resumed with an HTTP range request (or restarted when the server
ignores ranges), and any failure removes the partial file and leaves the registry as it was.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import httpx

from rubricate.guidelines.kernel.errors import InputError
from rubricate.guidelines.sources import filetype
from rubricate.guidelines.sources.parse import parse_document
from rubricate.guidelines.sources.registry import (DocumentEntry, Registry, check_registration,
                                                   register_file)

TIMEOUT = 30.0  # seconds without progress (connect, or between two reads)
RESUMES = 2  # extra requests after a cut-off transfer before giving up
MAX_REDIRECTS = 5
SNIFF_BYTES = 1024
USER_AGENT = "rubricate-fetch"

Progress = Callable[[int, "int | None"], None]  # (bytes done, bytes expected or None)


class FetchError(InputError):
    """A download failed; the message names the document and the URL."""


@dataclass(frozen=True)
class Download:
    """A complete, type-checked download waiting in ``path`` (the ``.part`` file)."""

    url: str  # as requested
    final_url: str  # after redirects
    path: Path
    sha256: str
    size: int
    retrieved: str  # ISO 8601 UTC, when the last byte arrived


@dataclass(frozen=True)
class Fetched:
    doc_id: str
    status: str  # added | unchanged | new edition (...)
    path: Path
    download: Download
    pages: int | None


def fetch_url(doc: DocumentEntry) -> str | None:
    """The URL to download: the public PDF if known, else the public page."""
    return doc.pdf_url or doc.url


def needs_own_copy(reg: Registry) -> list[DocumentEntry]:
    """Documents with no public URL and no source file: the user has to add their own copy."""
    return [d for d in reg.documents
            if not fetch_url(d) and not any(f.role == "source" for f in d.files)]


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _check_url(url: str, doc_id: str) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchError(f"{doc_id}: {url} is not an http(s) URL")


def download(url: str, part: Path, doc_id: str, *, progress: Progress | None = None,
             timeout: float = TIMEOUT, resumes: int = RESUMES,
             expect: tuple[str, ...] = ("application/pdf",)) -> Download:
    """Stream ``url`` into ``part``, resuming a cut-off transfer; the bytes must sniff as one
    of ``expect``. On any failure ``part`` is removed and a one-line FetchError raised."""
    _check_url(url, doc_id)
    part.parent.mkdir(parents=True, exist_ok=True)
    try:
        with httpx.Client(follow_redirects=True, max_redirects=MAX_REDIRECTS,
                          timeout=httpx.Timeout(timeout), headers={"User-Agent": USER_AGENT,
                                                                "Accept-Encoding": "identity"}) as client:
            return _download(client, url, part, doc_id, progress, resumes, expect)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _download(client: httpx.Client, url: str, part: Path, doc_id: str, progress: Progress | None,
              resumes: int, expect: tuple[str, ...]) -> Download:
    where = f"{doc_id}: {url}"
    done, total, validator, final = 0, None, None, url
    part.write_bytes(b"")
    for attempt in range(resumes + 1):
        headers = {}
        if done:
            headers["Range"] = f"bytes={done}-"
            if validator:
                headers["If-Range"] = validator
        try:
            with client.stream("GET", url, headers=headers) as resp:
                final = str(resp.url)
                if resp.status_code >= 400:
                    raise FetchError(f"{where}: the server answered {resp.status_code} "
                                     f"{resp.reason_phrase}".rstrip() + "; nothing written")
                if done and resp.status_code == 206 and _range_start(resp) == done:
                    mode = "ab"
                else:  # first request, or the server ignored the range: start over
                    done, mode = 0, "wb"
                    length = resp.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
                with part.open(mode) as fh:
                    head = b""
                    for chunk in resp.iter_raw():  # as it arrives: a cut keeps what came
                        if done == 0 and len(head) < SNIFF_BYTES:
                            head += chunk
                            if len(head) >= SNIFF_BYTES:
                                _check_type(head, expect, where, url, final)
                        fh.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
                    if head and len(head) < SNIFF_BYTES:
                        _check_type(head, expect, where, url, final)
            if total is None or done >= total:
                break
        except httpx.TimeoutException:
            if attempt == resumes or not done:
                raise FetchError(f"{where}: timed out (no data for {client.timeout.read:g} s); "
                                 "nothing written") from None
        except httpx.TooManyRedirects:
            raise FetchError(f"{where}: more than {MAX_REDIRECTS} redirects; nothing written") from None
        except httpx.ConnectError as exc:
            raise FetchError(f"{where}: cannot connect to {_host(final)} ({_reason(exc)}); "
                             "nothing written") from None
        except (httpx.RemoteProtocolError, httpx.ReadError):
            if attempt == resumes:
                break  # reported below with the byte counts
        except httpx.HTTPError as exc:
            raise FetchError(f"{where}: {type(exc).__name__}: {exc}; nothing written") from None
    if done == 0:
        raise FetchError(f"{where}: the server sent an empty file; nothing written")
    if total is not None and done != total:
        raise FetchError(f"{where}: download stopped at {done:,} of {total:,} bytes after "
                         f"{resumes + 1} tries (resumed where the server allowed); nothing written")
    return Download(url=url, final_url=final, path=part, sha256=_sha256(part), size=done,
                    retrieved=_now())


def _range_start(resp: httpx.Response) -> int | None:
    value = resp.headers.get("Content-Range", "")  # "bytes 100-999/1000"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    if "name" in text.lower() and ("resolution" in text.lower() or "not known" in text.lower()):
        return "host name not found; no network?"
    return text or type(exc).__name__


def _check_type(head: bytes, expect: tuple[str, ...], where: str, url: str, final: str) -> None:
    actual = filetype.sniff(head)
    if actual in expect:
        return
    via = f" (redirected to {final})" if final != url else ""
    raise FetchError(f"{where}{via} serves {filetype.describe(actual)}, not a PDF; nothing written; "
                     "pass the PDF's own link with --url, or download it in a browser and add it "
                     "with `rubricate guidelines add FILE --id ID`")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_document(reg: Registry, doc_id: str, sources: Path, *, url: str | None = None,
                   pin: str | None = None, update: bool = False, progress: Progress | None = None,
                   page_progress: Callable[[int, int], None] | None = None,
                   timeout: float = TIMEOUT, resumes: int = RESUMES) -> Fetched:
    """Download document ``doc_id``'s public PDF into ``sources`` and register it as its
    ``source`` file (a new edition with ``update``).

    ``url`` overrides the registry's and is recorded as the document's ``pdf_url`` once the
    file checked out; ``pin`` is a SHA-256 the file must have. A file that differs from the
    registered source edition is refused unless ``update``.
    """
    doc = reg.get(doc_id)
    target = url or fetch_url(doc)
    if not target:
        raise FetchError(f"{doc_id}: no public URL in the registry; add your own copy with "
                         f"`rubricate guidelines add FILE --id {doc_id}`")
    part = sources / f".{doc_id}.pdf.part"
    got = download(target, part, doc_id, progress=progress, timeout=timeout, resumes=resumes)
    final: Path | None = None
    created = False
    try:
        if pin and got.sha256 != pin.lower():
            raise FetchError(f"{doc_id}: {target} has sha256 {got.sha256[:12]}, not the pinned "
                             f"{pin.lower()[:12]}; nothing written")
        current = next((f for f in doc.files if f.role == "source"), None)
        current_sha = current.sha256 if current else None
        if current is not None and current_sha == got.sha256:
            part.unlink(missing_ok=True)
            return Fetched(doc_id, "unchanged", reg.resolve(current), got, None)
        if current is not None and not update:
            raise FetchError(
                f"{doc_id}: {target} now serves a different file (sha256 {got.sha256[:12]}) than the "
                f"registered source edition {current.path} (sha256 {(current_sha or 'unrecorded')[:12]}); "
                "nothing written; fetch again with --update to register it as a new edition")
        final = sources / f"{doc_id}-{got.sha256[:12]}.pdf"
        created = not final.exists()
        os.replace(part, final)
        meta = {"pdf_url": target} if url and url != doc.pdf_url else None
        checked = check_registration(reg, final, doc_id, "source", meta,
                                     replace="" if current is not None else None)
        parsed = parse_document(final, doc_id, progress=page_progress)
        origin = {"url": got.url, "final_url": got.final_url if got.final_url != got.url else None,
                  "size": got.size, "retrieved": got.retrieved}
        status = register_file(reg, final, doc_id, "source", meta, checked=checked, origin=origin)
        return Fetched(doc_id, status, final, got, parsed.page_count if parsed.paginated else None)
    except BaseException:
        part.unlink(missing_ok=True)
        if final is not None and created:
            final.unlink(missing_ok=True)
        raise

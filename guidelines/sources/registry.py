"""The guideline registry: which documents exist, what they are, and which files hold their text.

The registry is a YAML file (bundled: guidelines/registry.yaml) so researchers can read and
edit it; paths of files are relative to the registry's folder unless absolute.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import atomic_write_text, load_yaml_mapping, sha256_file
from rubricate.guidelines.kernel.paths import package_path

DEFAULT_REGISTRY = package_path("guidelines", "registry.yaml")
KINDS = ("clinical-practice-guideline", "therapy-manual", "ethics-code", "other")
ROLES = ("source", "digest")


@dataclass
class FileEntry:
    path: str
    role: str = "source"  # "source": the document itself; "digest": rubricate's paraphrase
    sha256: str | None = None  # recorded at registration; a mismatch means the file changed
    media_type: str | None = None


@dataclass
class DocumentEntry:
    id: str
    title: str
    creators: list[str] = field(default_factory=list)
    publisher: str | None = None
    year: int | None = None
    edition: str | None = None
    kind: str = "other"
    conditions: list[str] = field(default_factory=list)
    url: str | None = None
    url_verified: bool = False
    pdf_url: str | None = None  # public PDF; citations then link to url#page=N
    licence: str | None = None
    files: list[FileEntry] = field(default_factory=list)


@dataclass
class Registry:
    path: Path
    documents: list[DocumentEntry]
    header: str = ""  # leading comment block, kept when the file is rewritten

    def get(self, doc_id: str) -> DocumentEntry:
        for doc in self.documents:
            if doc.id == doc_id:
                return doc
        raise RubricateError(f"no document with id {doc_id!r} in the registry", path=str(self.path))

    def resolve(self, entry: FileEntry) -> Path:
        p = Path(entry.path)
        return p if p.is_absolute() else (self.path.parent / p)


def load_registry(path: Path | str | None = None) -> Registry:
    path = Path(path or os.environ.get("RUBRICATE_REGISTRY") or DEFAULT_REGISTRY)
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricateError("registry file not found", path=str(path)) from None
    raw = load_yaml_mapping(path, "registry", raw_text)
    header = "".join(l + "\n" for l in raw_text.splitlines() if l.startswith("#")) if raw_text.startswith("#") else ""
    header = header.split("\n\n")[0]
    docs = []
    seen: set[str] = set()
    for i, d in enumerate(raw.get("documents") or []):
        try:
            files = [FileEntry(**f) for f in d.pop("files", []) or []]
            doc = DocumentEntry(**d, files=files)
        except TypeError as exc:
            raise RubricateError(f"document #{i + 1}: {exc}", path=str(path)) from None
        if doc.id in seen:
            raise RubricateError(f"duplicate document id {doc.id!r}", path=str(path))
        if doc.kind not in KINDS:
            raise RubricateError(f"document {doc.id!r}: kind must be one of {', '.join(KINDS)}", path=str(path))
        for f in doc.files:
            if f.role not in ROLES:
                raise RubricateError(f"document {doc.id!r}: file role must be source or digest", path=str(path))
        seen.add(doc.id)
        docs.append(doc)
    return Registry(path=path, documents=docs, header=header)


def _clean(d: dict) -> dict:
    return {k: v for k, v in d.items() if v not in (None, [], "")}


def save_registry(reg: Registry) -> None:
    """Rewrite the registry atomically so an interrupted save never leaves half a file."""
    docs = []
    for doc in reg.documents:
        d = asdict(doc)
        d["files"] = [_clean(f) for f in d["files"]]
        docs.append({k: v for k, v in d.items() if v is not None})
    body = yaml.safe_dump({"documents": docs}, sort_keys=False, allow_unicode=True, width=100)
    atomic_write_text(reg.path, (reg.header + "\n" if reg.header else "") + body)


def register_file(reg: Registry, path: Path, doc_id: str, role: str = "source",
                  metadata: dict | None = None) -> str:
    """Add ``path`` to document ``doc_id`` (creating the document when metadata allows).

    Returns what happened: "added", "unchanged" or "updated (file changed)". The caller
    parses the file first, so a file that cannot be read never reaches the registry.
    """
    path = Path(path).resolve()
    digest = sha256_file(path)
    try:
        rel = str(path.relative_to(reg.path.parent.resolve()))
    except ValueError:
        rel = str(path)
    meta = {k: v for k, v in (metadata or {}).items() if v not in (None, (), [])}
    doc = next((d for d in reg.documents if d.id == doc_id), None)
    if doc is None:
        missing = [k for k in ("title", "kind") if k not in meta]
        if missing:
            raise RubricateError(f"new document {doc_id!r} needs --{' and --'.join(missing)}", path=str(path))
        if meta["kind"] not in KINDS:
            raise RubricateError(f"kind must be one of {', '.join(KINDS)}", path=str(path))
        doc = DocumentEntry(id=doc_id, **meta)
        reg.documents.append(doc)
    else:
        for key, value in meta.items():
            setattr(doc, key, list(value) if isinstance(value, tuple) else value)
    existing = next((f for f in doc.files if reg.resolve(f).resolve() == path), None)
    if existing is None:
        doc.files.append(FileEntry(path=rel, role=role, sha256=digest))
        status = "added"
    elif existing.sha256 == digest:
        status = "unchanged"
    else:
        status = f"updated (file changed; was sha256 {existing.sha256[:12] if existing.sha256 else 'unrecorded'})"
        existing.sha256 = digest
    save_registry(reg)
    return status

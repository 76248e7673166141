"""The guideline registry: which documents exist, what they are, and which files hold their text.

The registry is a YAML file (bundled: guidelines/registry.yaml) so researchers can read,
edit and review it in git; paths of files are relative to the registry's folder unless
absolute. Edits made by rubricate are round-trip (ruamel.yaml): comments, key order and
flow style stay, so registering one document changes only that document's lines.

A file that changes keeps its history: the earlier editions stay in the file's ``previous``
list with their SHA-256, so reviewed decisions can be re-anchored onto the new edition and
the knowledge base can say which edition is a revision of which.

Workspace overlay: unless a registry is named (``--registry`` / ``$RUBRICATE_REGISTRY``),
commands read the bundled registry (read-only package data) overlaid by the workspace's
``registry.yaml``: a document there replaces the bundled document with the same id, and new
ids are added after the bundled ones. Edits are written to the workspace file only, and a
bundled document is copied there (its files as ``package:...``) when first edited. A file
outside the registry's folder is recorded relative to ``$RUBRICATE_SOURCES``
(``${RUBRICATE_SOURCES}/...``), never by absolute path.
"""
from __future__ import annotations

import io
import os
import re
from copy import deepcopy
from dataclasses import MISSING, asdict, dataclass, field, fields, replace as dc_replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import atomic_write_text, load_yaml_mapping, sha256_file
from rubricate.guidelines.kernel.paths import PACKAGE_ROOT, package_path
from rubricate.guidelines.kernel.workspace import PACKAGE_PREFIX, registry_location, resolve_location, ws_path

DEFAULT_REGISTRY = package_path("guidelines", "registry.yaml")
KINDS = ("clinical-practice-guideline", "therapy-manual", "ethics-code", "other")
ROLES = ("source", "digest")
# Document ids become IRI path segments (https://w3id.org/rubricate/document/<id>).
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_ID = re.compile(ID_PATTERN)
ID_RULE = f"an id is 1-128 letters, digits, '.', '_' or '-' starting with a letter or digit ({ID_PATTERN})"


@dataclass
class Edition:
    """An earlier edition of a registered file: what it was and when it was replaced."""

    sha256: str
    path: str
    replaced: str | None = None  # ISO 8601 date/time the next edition was registered
    url: str | None = None  # where it was downloaded from (`guidelines fetch`)
    retrieved: str | None = None


@dataclass
class FileEntry:
    path: str
    role: str = "source"  # "source": the document itself; "digest": rubricate's paraphrase
    sha256: str | None = None  # recorded at registration; a mismatch means the file changed
    media_type: str | None = None
    previous: list[Edition] = field(default_factory=list)  # earlier editions, oldest first
    # where and when `guidelines fetch` downloaded it (absent for a file added by hand)
    url: str | None = None
    final_url: str | None = None  # after redirects, when different
    size: int | None = None  # bytes
    retrieved: str | None = None  # ISO 8601 UTC
    # the folder `path` is relative to when it is not the registry's own (a bundled document
    # seen through the workspace overlay); never written
    base_dir: Path | None = field(default=None, repr=False, compare=False)


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
    path: Path  # the file edits go to: the workspace's registry.yaml unless one was named
    documents: list[DocumentEntry]  # what every command reads (the overlay, see the module docstring)
    header: str = ""  # leading comment block (kept by the round-trip writer anyway)
    base: dict[str, DocumentEntry] = field(default_factory=dict)  # bundled documents as loaded

    def get(self, doc_id: str) -> DocumentEntry:
        for doc in self.documents:
            if doc.id == doc_id:
                return doc
        raise RubricateError(f"no document with id {doc_id!r} in the registry", path=str(self.path))

    def resolve(self, entry: FileEntry) -> Path:
        return resolve_location(entry.path, entry.base_dir or self.path.parent)

    def relative(self, path: Path) -> str:
        """How the registry records ``path``: relative to its folder, else to $RUBRICATE_SOURCES
        (refused otherwise: no absolute machine path is ever written)."""
        return registry_location(path, self.path.parent)


def check_id(doc_id: str) -> str:
    if not isinstance(doc_id, str) or not _ID.fullmatch(doc_id):
        raise RubricateError(f"invalid document id {doc_id!r}: {ID_RULE}")
    return doc_id


def _file_entry(raw: dict) -> FileEntry:
    raw = dict(raw)
    previous = [Edition(**e) for e in raw.pop("previous", None) or []]
    return FileEntry(**raw, previous=previous)


def load_registry(path: Path | str | None = None) -> Registry:
    """The registry named, else the bundled one overlaid by the workspace's (module docstring)."""
    named = path or os.environ.get("RUBRICATE_REGISTRY")
    if named:
        return _load_file(Path(named))
    bundled = _load_file(DEFAULT_REGISTRY)
    for doc in bundled.documents:
        for f in doc.files:
            f.base_dir = DEFAULT_REGISTRY.parent
    ws_file = ws_path("registry")
    if not ws_file.is_file():
        return Registry(ws_file, bundled.documents, base={d.id: deepcopy(d) for d in bundled.documents})
    own = _load_file(ws_file)
    mine = {d.id: d for d in own.documents}
    docs = [mine.pop(d.id, d) for d in bundled.documents] + [d for d in own.documents if d.id in mine]
    return Registry(ws_file, docs, own.header, base={d.id: deepcopy(d) for d in bundled.documents})


def _load_file(path: Path) -> Registry:
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
            d = dict(d)
            files = [_file_entry(f) for f in d.pop("files", []) or []]
            doc = DocumentEntry(**d, files=files)
        except TypeError as exc:
            raise RubricateError(f"document #{i + 1}: {exc}", path=str(path)) from None
        if not isinstance(doc.id, str) or not _ID.fullmatch(doc.id):
            raise RubricateError(f"document #{i + 1}: invalid id {doc.id!r}: {ID_RULE}", path=str(path))
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


# ---- round-trip writing -------------------------------------------------------------------

def _yaml(text: str = ""):
    """A round-trip YAML that writes with the indentation ``text`` already uses."""
    y = YAML()  # round-trip: comments, key order, flow style and quotes are kept
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap a long title
    sequence, offset = (4, 2)
    if text.strip():
        _, guessed, dash = load_yaml_guess_indent(text)
        sequence, offset = (guessed or 4), (dash if dash is not None else 2)
    y.indent(mapping=max(2, sequence - offset), sequence=sequence, offset=offset)
    y.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    return y


def _flow(value):
    """A new list or mapping written in flow style, like the registry's `[a, b]` and `{path: ...}`."""
    node = CommentedMap(value) if isinstance(value, dict) else CommentedSeq(value)
    node.fa.set_flow_style()
    return node


def _file_node(f: FileEntry, old=None):
    want = {k: v for k, v in asdict(f).items() if v not in (None, [], "") and k != "base_dir"}
    if f.previous:
        want["previous"] = [_flow({k: v for k, v in asdict(e).items() if v is not None}) for e in f.previous]
    node = old if isinstance(old, CommentedMap) else _flow({})
    _update(node, want)
    if f.previous:
        node.fa.set_block_style()  # a file with history gets one line per edition
    return node


def _doc_value(key: str, value):
    if isinstance(value, list):
        return _flow(list(value))
    return value


def _update(node, want: dict) -> None:
    """Make mapping ``node`` hold ``want``: changed keys in place, new keys in order, gone keys removed."""
    for key in [k for k in node if k not in want]:
        del node[key]
    keys = list(want)
    for i, key in enumerate(keys):
        value = want[key]
        if key in node:
            if _plain(node[key]) != _plain(value):
                old_flow = getattr(getattr(node[key], "fa", None), "flow_style", lambda: None)()
                node[key] = value
                if old_flow and hasattr(value, "fa"):
                    value.fa.set_flow_style()
        else:
            pos = sum(1 for k in keys[:i] if k in node)
            node.insert(pos, key, value)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _defaults() -> dict:
    return {f.name: (f.default_factory() if f.default_factory is not MISSING else f.default)
            for f in fields(DocumentEntry)}


def _doc_want(doc: DocumentEntry, old) -> dict:
    d = asdict(doc)
    d.pop("files")
    want = {}
    defaults = _defaults()
    for k, v in d.items():
        if k not in old and v == defaults.get(k):
            continue  # an absent key at its default stays absent (an explicit `null` stays)
        want[k] = _doc_value(k, v)
    return want


def save_registry(reg: Registry) -> None:
    """Write the registry back, editing only what changed (atomically: an interrupted save
    never leaves half a file)."""
    text = reg.path.read_text(encoding="utf-8") if reg.path.exists() else ""
    y = _yaml(text)
    data = y.load(text) if text.strip() else None
    if not isinstance(data, CommentedMap):
        data = CommentedMap()
    nodes = data.get("documents")
    if not isinstance(nodes, CommentedSeq):
        nodes = CommentedSeq()
        data["documents"] = nodes
    by_id = {n.get("id"): n for n in nodes if isinstance(n, CommentedMap)}
    keep = []
    for doc in _own_documents(reg):
        node = by_id.get(doc.id)
        if node is None:
            node = CommentedMap()
        want = _doc_want(doc, node)
        old_files = node.get("files") or []
        files = CommentedSeq()
        for i, f in enumerate(doc.files):
            match = next((o for o in old_files if isinstance(o, CommentedMap) and o.get("path") == f.path), None)
            files.append(_file_node(f, match))
        if _plain(old_files) == _plain(files) and isinstance(node.get("files"), CommentedSeq):
            files = node["files"]
        want["files"] = files
        _update(node, want)
        keep.append(node)
    nodes[:] = keep
    buf = io.StringIO()
    y.dump(data, buf)
    atomic_write_text(reg.path, buf.getvalue())


def _own_documents(reg: Registry) -> list[DocumentEntry]:
    """What the registry's own file holds: every document not identical to its bundled one,
    whole, with files that lie beside the bundled registry written as ``package:...``."""
    out = []
    for doc in reg.documents:
        if doc.id in reg.base and doc == reg.base[doc.id]:
            continue
        files = []
        for f in doc.files:
            if f.base_dir is not None and not f.path.startswith(PACKAGE_PREFIX):
                rel = (Path(f.base_dir).resolve() / f.path).relative_to(PACKAGE_ROOT.resolve()).as_posix()
                f = dc_replace(f, path=PACKAGE_PREFIX + rel, base_dir=None)
            files.append(f)
        out.append(dc_replace(doc, files=files))
    return out


# ---- registering files --------------------------------------------------------------------

@dataclass(frozen=True)
class Registration:
    """What ``guidelines add``/``update`` will do, checked before anything is parsed."""

    doc_id: str
    path: Path
    rel: str
    sha256: str
    role: str
    is_new_document: bool
    replaces: FileEntry | None  # the file entry that gets a new edition (None: a new file)


def _meta(metadata: dict | None) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in (metadata or {}).items() if v not in (None, (), [])}


def check_registration(reg: Registry, path: Path, doc_id: str, role: str = "source",
                       metadata: dict | None = None, known_conditions: Iterable[str] | None = None,
                       replace: str | None = None) -> Registration:
    """Every check that needs no parsing: id, metadata, conditions, the file, its hash.

    ``replace`` names the registered file (path as in the registry, or the only source file
    when "") that ``path`` becomes a new edition of (``guidelines update``).
    """
    path = Path(path)
    check_id(doc_id)
    if role not in ROLES:
        raise RubricateError(f"role must be one of {', '.join(ROLES)}", path=str(path))
    if not path.is_file():
        raise RubricateError("file not found", path=str(path))
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise RubricateError(f"cannot read file: {exc.strerror}", path=str(path)) from None
    meta = _meta(metadata)
    doc = next((d for d in reg.documents if d.id == doc_id), None)
    if doc is None:
        if replace is not None:
            raise RubricateError(f"no document with id {doc_id!r} in the registry", path=str(reg.path))
        missing = [k for k in ("title", "kind") if k not in meta]
        if missing:
            raise RubricateError(f"new document {doc_id!r} needs --{' and --'.join(missing)}", path=str(path))
    if "kind" in meta and meta["kind"] not in KINDS:
        raise RubricateError(f"unknown kind {meta['kind']!r}; kind must be one of {', '.join(KINDS)}",
                             path=str(path))
    if known_conditions is not None:
        known = set(known_conditions)
        unknown = [c for c in meta.get("conditions", []) if c not in known]
        if unknown:
            raise RubricateError(f"unknown condition {unknown[0]!r}; known conditions: {', '.join(sorted(known))}",
                                 path=str(path))
    resolved = path.resolve()
    for other in reg.documents:
        for f in other.files:
            current = f.sha256 or _hash_if_present(reg.resolve(f))
            hashes = {current} | {e.sha256 for e in f.previous}
            if digest not in hashes:
                continue
            if other.id != doc_id:
                raise RubricateError(f"this file (sha256 {digest[:12]}) is already registered under "
                                     f"another id, {other.id!r}, as {f.path}", path=str(path))
            if current == digest and reg.resolve(f).resolve() != resolved and replace is None:
                raise RubricateError(f"this file (sha256 {digest[:12]}) is already registered for "
                                     f"{doc_id!r} as {f.path}", path=str(path))
    replaces = None
    if doc is not None:
        if replace is not None:
            sources = [f for f in doc.files if (f.path == replace if replace else f.role == role)]
            if len(sources) != 1:
                where = f"no file {replace!r}" if replace else f"{len(sources)} {role} files"
                raise RubricateError(f"document {doc_id!r} has {where}; name the file to replace "
                                     f"with --replace PATH ({', '.join(f.path for f in doc.files) or 'none'})",
                                     path=str(reg.path))
            replaces = sources[0]
        else:
            replaces = next((f for f in doc.files if reg.resolve(f).resolve() == resolved), None)
    return Registration(doc_id, path, reg.relative(path), digest, role, doc is None, replaces)


def _hash_if_present(path: Path) -> str | None:
    """The hash of a registered file whose hash was not recorded (e.g. the bundled digests)."""
    try:
        return sha256_file(path)
    except OSError:
        return None


_ORIGIN = ("url", "final_url", "size", "retrieved")


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def register_file(reg: Registry, path: Path, doc_id: str, role: str = "source",
                  metadata: dict | None = None, known_conditions: Iterable[str] | None = None,
                  replace: str | None = None, checked: Registration | None = None,
                  origin: dict | None = None) -> str:
    """Add ``path`` to document ``doc_id`` (creating the document when metadata allows), or
    make it the new edition of a registered file.

    Returns what happened: "added", "unchanged" or "new edition (was sha256 ...)". Nothing is
    written when a check fails. The caller parses the file between
    :func:`check_registration` and this call, so an unreadable file never reaches the registry.
    ``origin`` (url, final_url, size, retrieved) says where a downloaded file came from.
    """
    r = checked or check_registration(reg, path, doc_id, role, metadata, known_conditions, replace)
    meta = _meta(metadata)
    if r.is_new_document:
        doc = DocumentEntry(id=doc_id, **meta)
        reg.documents.append(doc)
    else:
        doc = reg.get(doc_id)
        for key, value in meta.items():
            setattr(doc, key, value)
    old = r.replaces
    origin = {k: v for k, v in (origin or {}).items() if k in _ORIGIN}
    if old is None:
        doc.files.append(FileEntry(path=r.rel, role=role, sha256=r.sha256, **origin))
        status = "added"
    elif old.sha256 == r.sha256 and old.path == r.rel:
        status = "unchanged"
    else:
        was = old.sha256[:12] if old.sha256 else "unrecorded"
        if old.sha256 and old.sha256 != r.sha256:
            old.previous.append(Edition(sha256=old.sha256, path=old.path, replaced=_now(),
                                        url=old.url, retrieved=old.retrieved))
        old.sha256, old.path, old.role, old.base_dir = r.sha256, r.rel, role, None
        for key in _ORIGIN:
            setattr(old, key, origin.get(key))
        status = f"new edition (was sha256 {was}; the earlier edition is kept in the registry)"
    if status != "unchanged" or meta:
        save_registry(reg)
    return status

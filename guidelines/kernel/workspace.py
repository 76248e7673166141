"""Where user data goes (the workspace) and how a location is written into a record.

Bundled data (digests, registry, vocabulary, shapes, default rubrics, samples) is read-only
package data. Everything a user makes lives in a workspace instead, so an upgrade never loses
it and an installed package is never written to: the ``--workspace`` option, else
``$RUBRICATE_WORKSPACE``, else the current directory. Every writer takes its default location
from ``ws_path``; every file name written into a registry, run record or report goes through
``record_location`` (never an absolute machine path) and is read back with ``resolve_location``.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.paths import PACKAGE_ROOT

WORKSPACE_ENV = "RUBRICATE_WORKSPACE"
SOURCES_ENV = "RUBRICATE_SOURCES"
CACHE_ENV = "RUBRICATE_CACHE_DIR"
SOURCES_PREFIX = "${" + SOURCES_ENV + "}/"
PACKAGE_PREFIX = "package:"

#: What goes where inside a workspace (the README's "Workspace" section shows the same table).
LAYOUT: dict[str, str] = {
    "registry": "registry.yaml",            # documents added or overridden (overlays the bundled registry)
    "sources": "sources",                    # `guidelines fetch`: downloaded source files
    "decisions": "reviews/decisions.jsonl",  # reviewer decisions, append-only
    "kb": "build/kb",                        # `rubricate build`
    "rubrics": "build/rubrics",              # `rubricate compile`; looked up before the bundled rubrics
    "imports": "build",                      # `rubricate import <study>` -> build/<study>
    "run": "out",                            # `rubricate run`: kb/, rubrics/, results/, report/
    "results": "out/results",                # `rubricate evaluate` / `trace`
    "conversations": "out/conversations",    # `rubricate converse`: transcripts.jsonl, results/
    "stigma": "results/stigma",              # `rubricate stigma score`
    "cache": ".cache",                       # parse cache (parsed/) and LLM judge cache (llm/)
    "calibration": "calibration",            # `rubricate calibrate`: per-criterion judge agreement
}

_chosen: Path | None = None


def set_workspace(path: Path | str | None) -> Path | None:
    """Use ``path`` as the workspace of this process (the CLI's ``--workspace``); None: default.
    Returns the previous choice, so a caller can put it back when its work is over."""
    global _chosen
    previous, _chosen = _chosen, Path(path) if path is not None else None
    return previous


@contextmanager
def using_workspace(path: Path | str | None) -> Iterator[None]:
    """``set_workspace`` for one piece of work (a CLI invocation, a test), then the previous
    choice back, so a caller running several in one process never inherits another's."""
    previous = set_workspace(path)
    try:
        yield
    finally:
        set_workspace(previous)


def is_source_checkout() -> bool:
    """True when the package is a source tree (editable install), not an installed copy."""
    return (PACKAGE_ROOT / "pyproject.toml").is_file()


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def workspace_root() -> Path:
    """The workspace folder (as given: relative paths stay relative, so messages stay short)."""
    root = _chosen if _chosen is not None else Path(os.environ.get(WORKSPACE_ENV) or ".")
    if not is_source_checkout() and _inside(root.resolve(), PACKAGE_ROOT.resolve()):
        raise RubricateError("the workspace is inside the installed rubricate package; run from another "
                             f"folder or pass --workspace / set {WORKSPACE_ENV}", path=str(root))
    return root


def ws_path(kind: str, *parts: str) -> Path:
    """The default location of one kind of user data (a key of ``LAYOUT``) in the workspace."""
    return workspace_root().joinpath(LAYOUT[kind], *parts)


def cache_dir(kind: str) -> Path:
    """``$RUBRICATE_CACHE_DIR/<kind>``, else ``<workspace>/.cache/<kind>`` (kind: parsed, llm)."""
    root = os.environ.get(CACHE_ENV)
    return (Path(root) if root else ws_path("cache")) / kind


def sources_root() -> Path | None:
    """``$RUBRICATE_SOURCES``: the folder source files outside the workspace are recorded against."""
    value = os.environ.get(SOURCES_ENV)
    return Path(value) if value else None


def _posix_rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def registry_location(path: Path, registry_dir: Path) -> str:
    """How a registry records a source file: relative to the registry's folder, else to the
    sources root (``${RUBRICATE_SOURCES}/...``); anything else is refused, never made absolute."""
    path, registry_dir = Path(path).resolve(), Path(registry_dir).resolve()
    if _inside(path, registry_dir):
        return _posix_rel(path, registry_dir)
    src = sources_root()
    if src is not None and _inside(path, src.resolve()):
        return SOURCES_PREFIX + _posix_rel(path, src.resolve())
    raise RubricateError(f"file is outside the registry's folder {registry_dir}; set {SOURCES_ENV} to a folder "
                         "that holds it (files are recorded relative to it, never by absolute path)",
                         path=str(path))


def record_location(path: Path | str, relative_to: Path) -> str:
    """How a file is named in a record (run.json, reports): bundled data as ``package:...``, a file
    under ``$RUBRICATE_SOURCES`` as ``${RUBRICATE_SOURCES}/...``, anything else relative to
    ``relative_to`` (the record's folder), so the record resolves from any working directory."""
    path = Path(path).resolve()
    base = Path(relative_to).resolve()
    ws = workspace_root().resolve()
    if not _inside(path, ws) and _inside(path, PACKAGE_ROOT.resolve()):
        return PACKAGE_PREFIX + _posix_rel(path, PACKAGE_ROOT.resolve())
    src = sources_root()
    if src is not None and _inside(path, src.resolve()) and not _inside(path, ws):
        return SOURCES_PREFIX + _posix_rel(path, src.resolve())
    return Path(os.path.relpath(path, base)).as_posix()


def resolve_location(value: str, relative_to: Path) -> Path:
    """The file a recorded location names (the inverse of ``record_location``/``registry_location``)."""
    if value.startswith(PACKAGE_PREFIX):
        return PACKAGE_ROOT / value[len(PACKAGE_PREFIX):]
    if value.startswith(SOURCES_PREFIX):
        src = sources_root()
        if src is None:
            raise RubricateError(f"{value} is recorded relative to ${SOURCES_ENV}, which is not set",
                                 path=value)
        return src / value[len(SOURCES_PREFIX):]
    p = Path(value)
    return p if p.is_absolute() else Path(relative_to) / p

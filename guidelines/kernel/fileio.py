"""Small file helpers every writer uses: atomic replacement and content hashes."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

import yaml

from rubricate.guidelines.kernel.errors import InputError, RubricateError
from rubricate.guidelines.kernel.redaction import redact
from rubricate.guidelines.kernel.textsafe import repair, repair_text


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C until the block ends, then raise it: a set of files written together
    (a knowledge base and its build report) is then all new or all old, never mixed. Each
    file is already atomic; this makes the set so. Only the main thread receives signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def check_input_file(path: Path | str, what: str = "file") -> Path:
    """``path`` when it is a readable, non-empty file; else a one-line RubricateError.

    Missing files, folders, symlink loops (ELOOP), unreadable files and 0-byte files are
    refused before a run starts, so none of them surfaces later as a traceback.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            empty = not fh.read(1)
    except FileNotFoundError:
        raise InputError(f"cannot read {what}: not found", path=str(path)) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a folder, not a file", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", path=str(path)) from None
    if empty:
        raise InputError(f"{what} is empty", path=str(path))
    return path


def read_text_file(path: Path | str, what: str = "file") -> str:
    """A UTF-8 text file's content, or a one-line RubricateError (missing, unreadable, not UTF-8)."""
    data = check_input_file(path, what).read_bytes()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"{what} is not valid UTF-8 (byte 0x{data[exc.start]:02x})", path=str(path),
                         line=line) from None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_text(path: Path, text: str) -> None:
    """Write text atomically, without any registered secret (kernel.redaction) or lone surrogate."""
    atomic_write_bytes(path, repair_text(redact(text))[0].encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None  # name the file, not the temp
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_folder(folder: Path, files: dict[str, str], drop: tuple[str, ...] = ()) -> dict[str, Path]:
    """Write ``files`` (name -> text) as one set: into a sibling folder, then swapped in.

    A kill at any moment leaves either the old set or the new one, never a mix (kb.ttl new,
    kb.jsonld old); other files already in ``folder`` are carried over, except those named
    in ``drop``. The swap is two renames, with Ctrl-C held between them; a SIGKILL there
    leaves the old set in a hidden sibling (``.NAME.old-*``).
    """
    folder = Path(folder)
    here = Path.cwd().resolve()
    if folder.is_dir() and (folder.resolve() == here or folder.resolve() in here.parents):
        raise RubricateError("cannot replace this folder as a set: it holds the current folder; "
                             "write to a folder of its own", path=str(folder))
    folder.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.new-"))
    try:
        os.chmod(new, 0o777 & ~_umask())
        for name, text in files.items():
            atomic_write_text(new / name, text)
        if folder.is_dir():
            for other in folder.iterdir():
                if other.name not in files and other.name not in drop and not (new / other.name).exists():
                    shutil.copytree(other, new / other.name) if other.is_dir() else os.link(other, new / other.name)
            old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
            with interrupts_deferred():
                os.replace(folder, old / folder.name)
                os.replace(new, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(new, folder)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    return {name: folder / name for name in files}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def jsonl_bytes(rows: list[dict]) -> bytes:
    """Rows as JSON Lines (sorted keys, UTF-8), the form every JSONL export writes."""
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode("utf-8")


MAX_JSON_DEPTH = 64  # deeper records are refused: every later step (hashing, writing) recurses
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # a JSON escape of a UTF-16 surrogate


def nesting_depth(value: object) -> int:
    """How deep lists and dicts nest in ``value`` (iterative: deep input cannot overflow it)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v)
    return deepest


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # built once: json.loads with an option builds one per call


class RepairedDict(dict):
    """A JSONL object whose text held lone UTF-16 surrogates, now replaced by U+FFFD."""

    repaired = True


# Policies of the one JSONL reader (read_jsonl): what a bad line does.
STRICT = "strict"        # the first bad line stops the read with a file:line InputError
SKIP = "skip"            # bad lines are left out (and reported to ``skipped`` when given)
TORN_TAIL = "torn-tail"  # an unterminated last line (an interrupted append) is left out;
#                          any other bad line is corruption and stops the read
JSONL_POLICIES = (STRICT, SKIP, TORN_TAIL)


def _jsonl_lines(path: Path | BinaryIO, what: str, missing_ok: bool) -> Iterator[tuple[int, dict | str, bool]]:
    """(line number, object or problem message, line ends with a newline) per non-blank line.

    JSON nested too deep, an integer too long to convert or NaN is a problem line, not a
    crash; lone surrogates (``"\\ud800"``) are repaired and the object is a ``RepairedDict``.

    ``path`` may also be an open binary file (e.g. from fsspec), read but not closed here.
    """
    if hasattr(path, "read"):
        fh = contextlib.nullcontext(path)
    else:
        try:
            fh = open(path, "rb")
        except FileNotFoundError:
            if missing_ok:
                return
            raise InputError(f"{what} not found", path=str(path)) from None
        except OSError as exc:  # a symlink loop, a folder, no permission
            raise InputError(f"cannot read {what}: {exc.strerror or exc}", path=str(path)) from None
    with fh as fh:
        for n, raw in enumerate(fh, start=1):
            terminated = raw.endswith(b"\n")
            if n == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                yield n, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})", terminated
                continue
            if not line.strip():
                continue
            try:
                obj = _DECODER.decode(line)
            except json.JSONDecodeError as exc:
                yield n, f"invalid JSON: {exc.msg} (column {exc.colno})", terminated
                continue
            except RecursionError:
                yield n, "invalid JSON: nested too deeply", terminated
                continue
            except ValueError as exc:  # NaN/Infinity, or an integer over sys.get_int_max_str_digits() digits
                yield n, f"invalid JSON: {str(exc).split(';')[0]}", terminated
                continue
            if not isinstance(obj, dict):
                yield n, "expected a JSON object", terminated
                continue
            # Both checks only where they can find something (the common line skips them):
            # nesting needs an opening bracket per level, and a surrogate in text decoded from
            # UTF-8 can only come from a \\uD800-\\uDFFF escape.
            if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and nesting_depth(obj) > MAX_JSON_DEPTH:
                yield n, f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels", terminated
                continue
            if _SURROGATE_ESCAPE.search(raw) is None:
                yield n, obj, terminated
                continue
            obj, fixed = repair(obj)  # lone surrogates -> U+FFFD; the caller may flag the record
            yield n, (RepairedDict(obj) if fixed else obj), terminated


def iter_jsonl_objects(path: Path, what: str = "file") -> Iterator[tuple[int, dict | str]]:
    """(line number, object) for each non-blank line of a JSONL file.

    A line that is not UTF-8, not JSON or not an object yields (line number, message)
    instead, for callers that keep bad lines in their own stream (the responses reader
    records them as problems in input order); either way the user is told the exact line.
    """
    for n, obj, _ in _jsonl_lines(path, what, False):
        yield n, obj


def read_jsonl(path: Path | BinaryIO, policy: str = STRICT, what: str = "file", *, missing_ok: bool = False,
               skipped: list[tuple[int, str]] | None = None) -> Iterator[tuple[int, dict]]:
    """(line number, object) of a JSONL file under one of the policies above.

    Every JSONL reading site uses this reader (or iter_jsonl_objects, the same parser): one
    decoding (UTF-8, a leading BOM dropped), one set of messages, explicit policies.
    ``missing_ok``: a missing file reads as empty instead of an InputError.
    """
    if policy not in JSONL_POLICIES:
        raise ValueError(f"unknown JSONL policy {policy!r}")
    for n, obj, terminated in _jsonl_lines(path, what, missing_ok):
        if policy == TORN_TAIL and not terminated:
            return  # torn tail of an interrupted write: the last line, incomplete
        if isinstance(obj, str):
            if policy == SKIP:
                if skipped is not None:
                    skipped.append((n, obj))
                continue
            raise InputError(obj, path=str(getattr(path, "path", None) or getattr(path, "name", path)), line=n)
        yield n, obj


def read_jsonl_objects(path: Path, what: str = "file") -> list[tuple[int, dict]]:
    """All objects of a JSONL file, strictly (the first bad line is a file:line error)."""
    return list(read_jsonl(path, STRICT, what))


MAX_YAML_NODES = 200_000  # nodes after expanding aliases: far above any data file, far below a bomb


class BoundedSafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A SafeLoader that refuses documents whose aliases expand past ``MAX_YAML_NODES``.

    Anchors and aliases stay usable (the stimulus set shares term lists with them), but a
    "billion laughs" document - aliases of aliases - is refused with the line of the first
    collection that grows too large, before anything is built from it. libyaml's parser is
    used when PyYAML has it (same nodes and marks, several times faster: start-up time).
    """

    def construct_document(self, node):  # type: ignore[override]
        _check_expansion(node)
        return super().construct_document(node)


def _check_expansion(root) -> None:
    sizes: dict[int, int] = {}
    stack = [(root, False)]
    while stack:  # iterative post-order: sizes of children before parents, aliases counted once per use
        node, ready = stack.pop()
        if id(node) in sizes:
            continue
        children = ([c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode)
                    else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if not ready:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(c), 1) for c in children)
        sizes[id(node)] = total
        if total > MAX_YAML_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"aliases expand to more than {MAX_YAML_NODES:,} nodes (an alias bomb?)",
                node.start_mark)


def bounded_loader() -> type[BoundedSafeLoader]:
    return BoundedSafeLoader


def yaml_error(exc: Exception, path: Path) -> RubricateError:
    """A YAML parser error as a one-line RubricateError naming the file and line."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return InputError(f"invalid YAML: {problem}", path=str(path), line=mark.line + 1 if mark else None)


def load_yaml_mapping(path: Path, what: str = "file", text: str | None = None) -> dict:
    """Parse a YAML data file that must hold a mapping (an empty file is an empty mapping)."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{what} not found", path=str(path)) from None
        except UnicodeDecodeError:
            raise InputError("not valid UTF-8", path=str(path)) from None
        except OSError as exc:
            raise InputError(f"cannot read {what}: {exc.strerror or exc}", path=str(path)) from None
    try:
        data = yaml.load(text, Loader=bounded_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise yaml_error(exc, path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{what} must hold a mapping at the top level", path=str(path))
    return data

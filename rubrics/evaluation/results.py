"""The results folder of an evaluation: append-only verdicts, a manifest, resumable.

``verdicts.jsonl`` only ever grows. Each line is flushed and fsynced per batch, so a killed run
loses at most the batch in flight; a torn last line (a kill mid-write) is cut off on resume
because it was never a complete record. A verdict's id hashes what it judges, so resuming
never writes the same verdict twice.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import TORN_TAIL, atomic_write_text, read_jsonl
from rubricate.guidelines.kernel.redaction import redact
from rubricate.guidelines.kernel.textsafe import repair_text

VERDICTS = "verdicts.jsonl"
PROBLEMS = "problems.jsonl"
FAILURES = "failures.jsonl"
MANIFEST = "run.json"
SUMMARY = "summary.json"
LOCK = ".lock"
# What must match for --resume to continue a run (and, for an LLM judge, judge_identity).
RESUME_KEYS = ("rubric_id", "rubric_sha256", "responses_sha256", "judge")


def verdict_id(rubric_id: str, response_id: str, criterion_id: str, judge: str) -> str:
    return "v-" + hashlib.sha256(f"{rubric_id}\x1f{response_id}\x1f{criterion_id}\x1f{judge}".encode()).hexdigest()[:16]


def iter_jsonl(path: Path) -> Iterator[dict]:
    """Complete records of a results file (verdicts, problems): the one JSONL reader with the
    torn-tail policy (an interrupted append's last line is left out; other bad lines are an error)."""
    return (obj for _, obj in read_jsonl(Path(path), TORN_TAIL, "results file", missing_ok=True))


def cut_torn_tail(path: Path) -> None:
    """Cut an interrupted append's incomplete last line, so the next append starts clean."""
    _cut_torn_tail(path)


def _cut_torn_tail(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return
        data_end = fh.seek(0, os.SEEK_END)
        # walk back to the last newline
        pos = data_end - 1
        while pos > 0:
            fh.seek(pos - 1)
            if fh.read(1) == b"\n":
                break
            pos -= 1
        fh.truncate(pos)


@dataclass
class ResultsDir:
    path: Path

    @property
    def verdicts(self) -> Path:
        return self.path / VERDICTS

    @property
    def problems(self) -> Path:
        return self.path / PROBLEMS

    @property
    def failures(self) -> Path:
        """Judgements whose call failed (append-only; not answers): re-asked on resume."""
        return self.path / FAILURES

    def failed_ids(self, done: set[str]) -> set[str]:
        """Verdict ids that failed and have no verdict since."""
        return {f["verdict_id"] for f in iter_jsonl(self.failures)} - done

    def open_failures(self, done: set[str]) -> dict:
        """Failures still outstanding (no verdict since): count, count per cause, first."""
        latest: dict[str, dict] = {}
        for f in iter_jsonl(self.failures):
            if f["verdict_id"] not in done:
                latest[f["verdict_id"]] = f
        by_cause: dict[str, int] = {}
        for f in latest.values():
            cause = f.get("cause") or f.get("reason") or "unknown error"
            by_cause[cause] = by_cause.get(cause, 0) + 1
        first = next(iter(latest.values()), None)
        return {"count": len(latest), "by_cause": dict(sorted(by_cause.items(), key=lambda kv: -kv[1])),
                "first": first["reason"] if first else None}

    @property
    def manifest(self) -> Path:
        return self.path / MANIFEST

    @property
    def summary(self) -> Path:
        return self.path / SUMMARY

    def lock(self) -> None:
        """Hold an advisory lock on the folder for this process's run (``.lock``, with the pid).

        A second run into the same folder - two ``--resume`` runs, say - would interleave
        duplicate verdicts; it is refused in one line instead. The lock goes with the process
        (even a SIGKILLed one), so a stale lock file never blocks a later run.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise RubricateError(f"another run (pid {holder}) is writing to this results folder; wait for it "
                                 "or choose another --out", path=str(self.path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        fd = getattr(self, "_lock_fd", None)
        if fd is not None:
            os.close(fd)  # closing releases the flock
            self._lock_fd = None

    def open_for_run(self, manifest: dict, resume: bool) -> set[str]:
        """Prepare (and lock) the folder; return the verdict ids already written (when resuming).

        ``--resume`` continues only the same run: the same rubric, responses and judge (for an
        LLM judge also its model, endpoint and protocol), recorded in run.json.
        """
        self.lock()
        try:
            return self._prepare(manifest, resume)
        except BaseException:  # refused (or interrupted): the folder is not held
            self.unlock()
            raise

    def _prepare(self, manifest: dict, resume: bool) -> set[str]:
        existing = any(p.exists() and p.stat().st_size > 0 for p in (self.verdicts, self.failures))
        if existing and not resume:
            raise RubricateError("results already exist here; pass --resume to continue that run "
                                 "or choose another --out", path=str(self.path))
        if existing:
            if not self.manifest.exists():
                raise RubricateError("cannot resume: run.json is missing, so nothing says which run these "
                                     "verdicts belong to; choose another --out", path=str(self.path))
            try:
                old = json.loads(self.manifest.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise RubricateError("cannot resume: run.json is not valid JSON", path=str(self.manifest)) from None
            mine, theirs = judge_identity(manifest), judge_identity(old)
            for key in RESUME_KEYS:
                if key in old and old[key] != manifest.get(key):
                    raise RubricateError(f"cannot resume: {key} differs from the interrupted run "
                                         f"({old.get(key)!r} vs {manifest.get(key)!r})", path=str(self.manifest))
            for name in sorted(set(mine) & set(theirs)):
                if mine[name] != theirs[name]:
                    raise RubricateError(f"cannot resume: the {name} judge differs from the interrupted run "
                                         f"({theirs[name]} vs {mine[name]})", path=str(self.manifest))
            _cut_torn_tail(self.verdicts)
            _cut_torn_tail(self.problems)
            _cut_torn_tail(self.failures)
            done = {v["verdict_id"] for v in iter_jsonl(self.verdicts)}
        else:
            done = set()
            for p in (self.verdicts, self.problems, self.failures):
                p.unlink(missing_ok=True)
        atomic_write_text(self.manifest, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return done


def judge_identity(manifest: dict) -> dict[str, dict]:
    """What --resume must find unchanged of each LLM judge in run.json's ``llm_judges``: the
    same model at the same endpoint, asked by the same protocol (not its timeout or usage)."""
    out = {}
    for name, d in (manifest.get("llm_judges") or {}).items():
        ep = d.get("endpoint") or {}
        out[name] = {"model": ep.get("model"), "base_url": ep.get("base_url"), "protocol": d.get("protocol")}
    return out


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, allow_nan=False)  # built once, not per line


def json_line(record: dict) -> str:
    """One record as strict JSON: NaN/Infinity become null, a lone surrogate U+FFFD.

    Either could reach a record from outside (a judge's reply, a metadata field) and must
    not crash the writer and lose the batch, nor produce a line other tools cannot read.
    A registered secret (the API key, echoed by a server) never reaches the file.
    """
    return _json_line(record)[0]


def _json_line(record: dict) -> tuple[str, bool]:
    """``json_line`` and whether the line says what the record says (nothing was replaced)."""
    try:
        text = _ENCODER.encode(record)
        verbatim = True
    except ValueError:
        text = _ENCODER.encode(finite(record))
        verbatim = False
    text, repaired = repair_text(text)
    safe = redact(text)
    return safe, verbatim and not repaired and safe is text


class Records:
    """The complete records of a results file, readable more than once (each pass re-opens
    it): a summary can count in one pass and, only if it must, count again."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __iter__(self) -> Iterator[dict]:
        return iter_jsonl(self.path)


def finite(value):
    """JSON-like data with non-finite floats replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


class AppendLog:
    """Append JSON lines; flush + fsync on every ``commit`` so a kill keeps all committed lines.

    Never rewrites the file. If a previous writer was killed mid-line, a newline is added
    first, so the partial line stays one bad line (readers skip or cut it) and new records
    stay intact. (A resumed evaluation has already cut such a tail: see ``open_for_run``.)
    """

    def __init__(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torn = False
        if path.exists() and path.stat().st_size:
            with open(path, "rb") as fh:
                fh.seek(-1, os.SEEK_END)
                torn = fh.read(1) != b"\n"
        self.path = path
        self.fh = open(path, "a", encoding="utf-8")
        self.altered = 0  # records whose line had to differ from them (see json_line)
        if torn:
            self.fh.write("\n")

    def write(self, records: Iterable[dict]) -> int:
        """Append the records' lines (one write per call; they reach the disk at ``commit``)."""
        lines = []
        for r in records:
            line, verbatim = _json_line(r)
            lines.append(line)
            self.altered += not verbatim
        try:
            if lines:
                self.fh.write("\n".join(lines) + "\n")
        except OSError as exc:  # a full disk: name the file (a torn tail is cut on --resume)
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None
        return len(lines)

    def commit(self) -> None:
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None

    def flush(self) -> None:
        """Hand the lines to the OS: they survive the process being killed (not a power cut,
        which only ``commit`` covers)."""
        self.fh.flush()

    def close(self) -> None:
        try:
            self.commit()
        finally:
            try:
                self.fh.close()
            except OSError:
                pass  # the error that matters was raised by commit()

    def __enter__(self) -> "AppendLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""Batch mode: the same calls sent through a provider's files + batches API, at its discount.

Why: OpenAI's Batch API (and Together's and others with the same interface) costs half the
online price. A ``BatchRunner`` is a ``Runner`` whose ``complete`` calls are gathered
rather than sent: once every unit of work is either finished or waiting on a call, the
waiting calls become one batch input file (``custom_id`` = the call's cache key), which is
uploaded, submitted and polled; results and errors are downloaded and handed back to the
waiting calls, and every answer goes into the cache. Follow-up calls (a corrective re-ask)
form the next batch.

A batch's id is appended to a ledger file before polling starts, so a killed process that
is run again polls the batch it already paid for instead of submitting a new one. Calls that
failed in a batch (an error line, a missing line after expiry) are asked again as a new
batch, or online with ``fallback="online"``; a 400 naming a parameter adapts the run as
online (params.py) before the re-ask.
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import openai

from rubricate.guidelines.kernel.fileio import SKIP, read_jsonl

from .cache import cache_key
from .client import parse_body, translate_error
from .retry import CallError
from .runner import Completion, Runner, _cause

log = logging.getLogger("rubricate.llm")

ENDPOINT_PATH = "/v1/chat/completions"
RUNNING = {"validating", "in_progress", "finalizing", "cancelling"}
FALLBACKS = ("batch", "online")
MAX_ROUNDS = 3  # batches per group of calls: the first and at most two re-asks of failures


@dataclass(frozen=True)
class BatchOptions:
    """How to run in batch mode: where the ledger of submitted batches lives, what to do
    with calls that failed in a batch, and how often to poll (seconds, growing to 60)."""

    ledger: Path
    fallback: str = "batch"
    poll_interval: float = 10.0

    def __post_init__(self) -> None:
        if self.fallback not in FALLBACKS:
            raise ValueError(f"batch fallback must be one of {FALLBACKS}")


@dataclass
class _Call:
    key: str
    body: dict[str, Any]
    structured: bool
    protocol: str
    online: tuple  # (messages, settings, response_format, plain, structured key) for a fallback
    futures: list[asyncio.Future] = field(default_factory=list)
    accept: Callable[[str], bool] | None = None  # whether a reply is usable (cached only then)


class Ledger:
    """Append-only JSONL of submitted batches: {batch_id, keys, ...} then {batch_id, done}."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def submitted(self, batch_id: str, file_id: str, keys: list[str], url: str, model: str) -> None:
        self._append({"batch_id": batch_id, "input_file_id": file_id, "keys": keys, "base_url": url,
                      "model": model, "submitted": time.time()})

    def collected(self, batch_id: str, status: str) -> None:
        self._append({"batch_id": batch_id, "done": status})

    def open_batches(self, url: str, model: str) -> list[dict]:
        """Batches submitted to this endpoint and model whose results were not collected."""
        subs: dict[str, dict] = {}
        for _, rec in read_jsonl(self.path, SKIP, "batch ledger", missing_ok=True):  # a killed writer's torn line is skipped
            if "done" in rec:
                subs.pop(rec.get("batch_id"), None)
            elif rec.get("base_url") == url and rec.get("model") == model:
                subs[rec["batch_id"]] = rec
        return list(subs.values())


class BatchRunner(Runner):
    """A Runner that answers ``complete`` through batches (see the module docstring).

    ``n_units`` is how many concurrent units of work share it (run_all's tasks); a batch is
    sent when every unit is finished or waiting.
    """

    def __init__(self, *args: Any, options: BatchOptions, n_units: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = options
        self.ledger = Ledger(options.ledger)
        self.n_units = n_units
        self.finished = 0
        self._waiting: list[tuple[_Call, asyncio.Future]] = []
        self._flushing: asyncio.Task | None = None
        self._resumed = False

    # -- gathering --------------------------------------------------------------------------
    def unit_finished(self) -> None:
        self.finished += 1
        self._maybe_flush()

    async def complete(self, messages: list[dict], *, protocol: str, version: str,
                       response_format: dict | None = None, temperature: float | None = None,
                       sample: int = 0, accept: Callable[[str], bool] | None = None,
                       max_tokens: int | None = None) -> Completion:
        self.stats.calls += 1
        settings = self.settings(temperature, sample, max_tokens)
        plain, structured, hit = self._cached(messages, protocol, version, settings, response_format)
        if hit is not None:
            return hit
        rf = response_format if self.structured_ok else None
        body = self.params.body(self.endpoint.model, messages, settings, rf, self.endpoint.extra_body)
        call = _Call(structured if rf else plain, body, rf is not None, protocol,
                     (messages, settings, response_format, plain, structured), accept=accept)
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiting.append((call, fut))
        self._maybe_flush()
        return await fut

    def _maybe_flush(self) -> None:
        if self._waiting and self._flushing is None and len(self._waiting) + self.finished >= self.n_units:
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        calls: dict[str, _Call] = {}
        for call, fut in waiting:
            calls.setdefault(call.key, call).futures.append(fut)
        try:
            results = await self._run(calls)
        except BaseException as exc:  # an interrupt or a failed upload: every waiter hears it
            for call in calls.values():
                for fut in call.futures:
                    if not fut.done():
                        fut.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            self._flushing = None
            if not isinstance(exc, Exception):
                raise
            return
        self._flushing = None
        for key, call in calls.items():
            for fut in call.futures:
                if not fut.done():
                    fut.set_result(results[key])
        self._maybe_flush()

    # -- one group of calls: resume, submit, re-ask ------------------------------------------
    async def _run(self, calls: dict[str, _Call]) -> dict[str, Completion]:
        results: dict[str, Completion] = {}
        if not self._resumed:  # batches a killed run submitted: poll them, never resubmit
            self._resumed = True
            for rec in self.ledger.open_batches(self.endpoint.url, self.endpoint.model):
                log.warning("resuming batch %s submitted by an earlier run (%d requests)",
                            rec["batch_id"], len(rec.get("keys") or []))
                got, _ = await self._collect(rec["batch_id"], calls)
                results.update(got)
        todo = {k: c for k, c in calls.items() if k not in results or results[k].text is None}
        for round_no in range(MAX_ROUNDS):
            if not todo:
                break
            if round_no and self.options.fallback == "online":
                break
            for c in todo.values():  # what a 400 taught the run applies to the re-ask
                c.body = self.params.body(self.endpoint.model, c.online[0], c.online[1],
                                          c.online[2] if self.structured_ok else None,
                                          self.endpoint.extra_body)
                c.structured = "response_format" in c.body
            batch_id = await self._submit(todo)
            got, errors = await self._collect(batch_id, todo)
            results.update(got)
            todo = {k: c for k, c in todo.items() if results.get(k) is None or results[k].text is None}
            for key, err in errors.items():
                if key in todo and err.status in (400, 422) and self._adapt(err, todo[key].body):
                    continue
        if todo and self.options.fallback == "online":
            log.warning("%d call(s) failed in the batch; asking them online (--batch-fallback online)", len(todo))
            online = await asyncio.gather(*(self._request(c.online[0], c.protocol, c.online[1], c.online[2],
                                                          c.online[3], c.online[4], c.accept) for c in todo.values()))
            results.update(dict(zip(todo, online)))
        for key in calls:
            if key not in results:
                results[key] = Completion(None, error="no result for this request in the batch",
                                          cause="no result for this request in the batch")
        for key, r in results.items():
            if r.text is None and key in calls:
                self.stats.failed(r.cause or r.error or "batch request failed")
        return results

    async def _api(self, coro: Any) -> Any:
        """One call of the files/batches API, its failures classified as online ones."""
        try:
            return await coro
        except openai.OpenAIError as exc:
            raise translate_error(exc, self.endpoint, self._client.api_key) from None

    async def _submit(self, calls: dict[str, _Call]) -> str:
        lines = [json.dumps({"custom_id": k, "method": "POST", "url": ENDPOINT_PATH, "body": c.body},
                            ensure_ascii=False) for k, c in calls.items()]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        name = f"rubricate-{cache_key({'keys': sorted(calls)})[:12]}.jsonl"
        f = await self._api(self._client.files.create(file=(name, data, "application/jsonl"), purpose="batch"))
        b = await self._api(self._client.batches.create(
            input_file_id=f.id, endpoint=ENDPOINT_PATH, completion_window="24h",
            metadata={"tool": "rubricate", "requests": str(len(calls))}))
        self.ledger.submitted(b.id, f.id, sorted(calls), self.endpoint.url, self.endpoint.model)
        self.stats.batches += 1
        self.stats.requests += len(calls)
        log.warning("batch %s submitted (%d requests); if interrupted, run the same command with "
                    "--resume to keep polling it", b.id, len(calls))
        return b.id

    async def _poll(self, batch_id: str) -> Any:
        delay = self.options.poll_interval
        while True:
            b = await self._api(self._client.batches.retrieve(batch_id))
            self._show(b)
            if b.status not in RUNNING:
                return b
            await asyncio.sleep(delay)
            delay = min(60.0, delay * 1.5)

    def _show(self, b: Any) -> None:
        if not sys.stderr.isatty():
            return
        rc = b.request_counts
        done = f" {rc.completed}/{rc.total} done, {rc.failed} failed" if rc is not None else ""
        sys.stderr.write(f"\rbatch {b.id}: {b.status}{done}\033[K")
        sys.stderr.flush()
        if b.status not in RUNNING:
            sys.stderr.write("\n")

    async def _collect(self, batch_id: str, calls: dict[str, _Call]) -> tuple[dict[str, Completion], dict[str, CallError]]:
        """Poll a batch to its end and read its output and error files; results for the
        keys of ``calls`` (others are cached only), and the errors by key."""
        b = await self._poll(batch_id)
        results: dict[str, Completion] = {}
        errors: dict[str, CallError] = {}
        if b.status in ("failed", "cancelled") and not b.output_file_id:
            why = "; ".join(e.message or "" for e in (b.errors.data or [])) if b.errors else ""
            err = CallError("batch", f"batch {b.status}" + (f": {why[:200]}" if why else ""))
            for key in calls:
                errors[key] = err
                results[key] = Completion(None, error=err.reason, cause=_cause(err))
        for file_id in (b.output_file_id, b.error_file_id):
            if not file_id:
                continue
            content = await self._api(self._client.files.content(file_id))
            for _, rec in read_jsonl(io.BytesIO(content.content), SKIP, f"batch file {file_id}"):
                self._read_record(rec, calls, results, errors)
        if b.status == "expired":
            for key in calls:
                if key not in results:
                    err = CallError("batch", "the batch expired before this request ran")
                    errors[key] = err
                    results[key] = Completion(None, error=err.reason, cause=_cause(err))
        self.ledger.collected(batch_id, b.status)
        return results, errors

    def _read_record(self, rec: dict, calls: dict[str, _Call], results: dict[str, Completion],
                     errors: dict[str, CallError]) -> None:
        """One line of a batch's output or error file, mapped back to its call by custom_id."""
        key = self._client.api_key if isinstance(self._client.api_key, str) else ""
        cid = rec.get("custom_id")
        if not isinstance(cid, str):
            return
        resp = rec.get("response") or {}
        status = resp.get("status_code")
        if status == 200 and not rec.get("error"):
            try:
                reply = parse_body(json.dumps(resp.get("body")), key)
            except CallError as err:
                errors[cid] = err
                results.setdefault(cid, Completion(None, error=err.reason, cause=_cause(err)))
                return
            call = calls.get(cid)
            protocol = call.protocol if call else ""
            results[cid] = self._succeeded(reply, 0.0, 1, cid, protocol, batch=True,
                                           accept=call.accept if call else None)
            return
        body = resp.get("body") if isinstance(resp.get("body"), dict) else {}
        e = body.get("error") if isinstance(body.get("error"), dict) else (rec.get("error") or {})
        msg = " ".join(str(e.get("message") or e.get("code") or "request failed").split())[:300]
        err = CallError("http" if status else "batch", f"HTTP {status}: {msg}" if status else msg,
                        status, None, e.get("param"), msg)
        errors[cid] = err
        if cid not in results or results[cid].text is None:
            results[cid] = Completion(None, error=err.reason, cause=_cause(err))

"""A real OpenAI-compatible HTTP server on 127.0.0.1 for testing the LLM judge.

It speaks the chat-completions wire format over real sockets, so the client library, its
HTTP stack and our retry logic are exercised end to end (never a mock of the client).
Replies are scripted by a callable; faults (429 with Retry-After, 5xx, dropped connections,
slow replies, truncated or plain-text bodies, empty content, 401) are injected by request
number or by a regex on the request; every request is recorded with its timing and headers.

Run standalone (used by bench/converse.py): ``python tests/openai_server.py --latency 0.05``
prints ``READY <base_url>`` on stdout and serves until stdin closes or it is killed.
"""
from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import pytest

Answer = Callable[[list[dict], dict], str]


@dataclass
class Fault:
    """One injected fault. ``kind`` is one of: 429, 500, 503, 400, 401, drop, slow,
    truncated, plaintext, empty. ``delay`` is the stall for ``slow``; ``retry_after`` is the
    Retry-After header value sent with an error status (seconds or an HTTP date)."""

    kind: str
    retry_after: str | None = None
    delay: float = 0.0
    message: str = ""


@dataclass
class FaultRule:
    """Inject ``fault`` into requests whose JSON body matches ``pattern``, ``times`` times."""

    pattern: str
    fault: Fault
    times: int = 1


@dataclass
class Rejection:
    """Answer HTTP 400 when the body has ``param`` (and, if ``unless`` is given, its value
    is not that), in the shape the real service uses: ``error.param`` set (OpenAI) or only
    named in the message (``param_field=False``, as vLLM, llama.cpp and others do)."""

    param: str
    message: str
    unless: Any = None
    param_field: bool = True
    code: str = "unsupported_parameter"

    def applies(self, body: dict) -> bool:
        return self.param in body and (self.unless is None or body[self.param] != self.unless)


# What OpenAI's reasoning models (o-series, gpt-5) answer, word for word in structure.
REASONING_MODEL = [
    Rejection("temperature", "Unsupported value: 'temperature' does not support 0 with this model. "
              "Only the default (1) value is supported.", unless=1, code="unsupported_value"),
    Rejection("max_tokens", "Unsupported parameter: 'max_tokens' is not supported with this model. "
              "Use 'max_completion_tokens' instead."),
]


@dataclass
class RecordedRequest:
    n: int
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any
    started: float
    completion_n: int = 0
    finished: float = 0.0
    fault: str | None = None
    status: int | None = None


def response_in(messages: list[dict]) -> str:
    """The text between <response> and </response> in the last message that has it."""
    for message in reversed(messages):
        m = re.search(r"<response>\n?(.*?)\n?</response>", str(message.get("content", "")), re.S)
        if m:
            return m.group(1)
    return ""


def default_answer(messages: list[dict], body: dict) -> str:
    """A judge that answers yes when the response mentions 'help' (criterion JSON format)."""
    ans = "yes" if "help" in response_in(messages).lower() else "no"
    return json.dumps({"explanation": "scripted", "answer": ans, "evidence": []})


def _count_tokens(text: str) -> int:
    return len(re.findall(r"\S+", text))


class OpenAIServer:
    """Threaded OpenAI-compatible server; use as a context manager or start()/stop()."""

    def __init__(self, answer: Answer | None = None, *, latency: float = 0.0,
                 faults: dict[int, Fault] | None = None, rules: list[FaultRule] | None = None,
                 reject_response_format: bool = False, model: str = "test-model",
                 rejections: list[Rejection] | None = None, port: int = 0) -> None:
        self.answer = answer or default_answer
        self.rejections = list(rejections or [])
        self.port = port
        self.batch_api = BatchAPI(self)
        self.latency = latency
        self.faults = dict(faults or {})
        self.rules = list(rules or [])
        self.reject_response_format = reject_response_format
        self.model = model
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._n_completions = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "OpenAIServer":
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = _Server(("127.0.0.1", self.port), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "OpenAIServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def completions(self) -> list[RecordedRequest]:
        """Recorded POST /v1/chat/completions requests, in arrival order."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # -- request handling (called from handler threads) -----------------------------------
    def _record(self, method: str, path: str, headers: dict, body: Any) -> RecordedRequest:
        with self._lock:
            rec = RecordedRequest(len(self.requests) + 1, method, path, headers, body,
                                  time.monotonic())
            if path.rstrip("/").endswith("/chat/completions"):
                self._n_completions += 1
                rec.completion_n = self._n_completions
            self.requests.append(rec)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return rec

    def _done(self, rec: RecordedRequest, status: int | None) -> None:
        with self._lock:
            rec.finished = time.monotonic()
            rec.status = status
            self.in_flight -= 1

    def completion(self, body: dict, n: int, empty: bool = False) -> tuple[int, dict]:
        """(status, JSON payload) for one chat-completions body: a rejection, or the answer."""
        for rej in self.rejections:
            if rej.applies(body):
                err = {"message": rej.message, "type": "invalid_request_error",
                       "param": rej.param if rej.param_field else None, "code": rej.code}
                return 400, {"error": err}
        if self.reject_response_format and "response_format" in body:
            return 400, json.loads(_error("response_format is not supported by this server",
                                          "invalid_request_error"))
        messages = body.get("messages") or []
        content: str | None = "" if empty else self.answer(messages, body)
        prompt = sum(_count_tokens(str(m.get("content", ""))) for m in messages)
        done = _count_tokens(content or "")
        return 200, {
            "id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": done,
                      "total_tokens": prompt + done},
        }

    def _fault_for(self, n_completion: int, raw: str) -> Fault | None:
        with self._lock:
            if n_completion in self.faults:
                return self.faults.pop(n_completion)
            for rule in self.rules:
                if rule.times > 0 and re.search(rule.pattern, raw):
                    rule.times -= 1
                    return rule.fault
        return None


class BatchAPI:
    """The files + batches endpoints of OpenAI's Batch API, enough to run a batch end to end.

    A batch moves validating -> in_progress -> finalizing -> completed, one step per status
    request after ``steps_before_done`` requests; its requests are answered as online
    ones would be (the server's answer function and rejections), at creation. Settings:
    ``fail`` (a regex: request lines whose JSON matches go to the error file with a 500),
    ``expire`` (the batch ends ``expired`` after answering ``expire_after`` requests; the rest
    are listed in the error file as expired), ``fail_batch`` (status ``failed``, no output).
    """

    def __init__(self, owner: "OpenAIServer") -> None:
        self.owner = owner
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.created: list[str] = []  # batch ids in creation order
        self.steps_before_done = 2
        self.fail: str | None = None
        self.fail_times: int = 10**9  # how many matching lines fail (over all batches)
        self.expire_after: int | None = None
        self.fail_batch = False
        self._lock = threading.Lock()

    def upload(self, ctype: str, data: bytes) -> tuple[int, dict]:
        from email.parser import BytesParser
        from email.policy import default as policy
        msg = BytesParser(policy=policy).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + data)
        fields: dict[str, bytes] = {}
        name = "upload.jsonl"
        for part in msg.iter_parts():
            key = part.get_param("name", header="content-disposition")
            fields[key] = part.get_payload(decode=True) or b""
            if key == "file":
                name = part.get_filename() or name
        if fields.get("purpose", b"").decode() != "batch" or "file" not in fields:
            return 400, json.loads(_error("need purpose=batch and a file", "invalid_request_error"))
        with self._lock:
            fid = f"file-{len(self.files) + 1}"
            self.files[fid] = fields["file"]
        return 200, {"id": fid, "object": "file", "bytes": len(fields["file"]), "created_at": int(time.time()),
                     "filename": name, "purpose": "batch", "status": "processed"}

    def create(self, body: dict) -> tuple[int, dict]:
        fid = body.get("input_file_id")
        if fid not in self.files:
            return 404, json.loads(_error(f"no file {fid}", "invalid_request_error"))
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            return 400, json.loads(_error("endpoint must be /v1/chat/completions, window 24h", "invalid_request_error"))
        lines = [json.loads(l) for l in self.files[fid].decode().splitlines() if l.strip()]
        out, err = [], []
        with self._lock:
            bid = f"batch_{len(self.batches) + 1}"
            for n, line in enumerate(lines):
                cid = line["custom_id"]
                if self.expire_after is not None and n >= self.expire_after:
                    err.append({"id": f"req-{n}", "custom_id": cid, "response": None,
                                "error": {"code": "batch_expired", "message": "This request could not be "
                                          "executed before the completion window expired."}})
                    continue
                if self.fail and self.fail_times > 0 and re.search(self.fail, json.dumps(line)):
                    self.fail_times -= 1
                    err.append({"id": f"req-{n}", "custom_id": cid, "error": None,
                                "response": {"status_code": 500, "request_id": f"r{n}",
                                             "body": json.loads(_error("injected batch failure", "server_error"))}})
                    continue
                status, payload = self.owner.completion(line["body"], n)
                rec = {"id": f"req-{n}", "custom_id": cid, "error": None,
                       "response": {"status_code": status, "request_id": f"r{n}", "body": payload}}
                (out if status == 200 else err).append(rec)
            batch = {"id": bid, "object": "batch", "endpoint": body["endpoint"], "errors": None,
                     "input_file_id": fid, "completion_window": "24h", "status": "validating",
                     "output_file_id": None, "error_file_id": None, "created_at": int(time.time()),
                     "metadata": body.get("metadata"),
                     "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                     "_out": out, "_err": err, "_polls": 0}
            self.batches[bid] = batch
            self.created.append(bid)
        return 200, self._public(batch)

    def retrieve(self, bid: str) -> tuple[int, dict]:
        with self._lock:
            b = self.batches.get(bid)
            if b is None:
                return 404, json.loads(_error(f"no batch {bid}", "invalid_request_error"))
            b["_polls"] += 1
            order = ["validating", "in_progress", "finalizing"]
            step = b["_polls"] - self.steps_before_done
            if b["status"] in order and step >= 0:
                i = order.index(b["status"]) + 1
                if i < len(order):
                    b["status"] = order[i]
                else:
                    self._finish(b)
            return 200, self._public(b)

    def _finish(self, b: dict) -> None:
        if self.fail_batch:
            b.update(status="failed", errors={"object": "list", "data": [
                {"code": "invalid_request", "message": "injected batch failure", "param": None, "line": 1}]})
            return
        b["status"] = "expired" if self.expire_after is not None else "completed"
        if b["_out"]:
            fid = f"file-{len(self.files) + 1}"
            self.files[fid] = "".join(json.dumps(r) + "\n" for r in b["_out"]).encode()
            b["output_file_id"] = fid
        if b["_err"]:
            fid = f"file-{len(self.files) + 1}"
            self.files[fid] = "".join(json.dumps(r) + "\n" for r in b["_err"]).encode()
            b["error_file_id"] = fid
        b["request_counts"] = {"total": len(b["_out"]) + len(b["_err"]), "completed": len(b["_out"]),
                               "failed": len(b["_err"])}

    def content(self, fid: str) -> tuple[int, bytes]:
        with self._lock:
            if fid not in self.files:
                return 404, _error(f"no file {fid}", "invalid_request_error")
            return 200, self.files[fid]

    @staticmethod
    def _public(b: dict) -> dict:
        return {k: v for k, v in b.items() if not k.startswith("_")}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def _send(self, status: int, payload: bytes, ctype: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        try:
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:  # the client gave up (timeout) or went away
            self.close_connection = True

    def do_GET(self) -> None:
        rec = self.owner._record("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, None)
        path = self.path.split("?")[0].rstrip("/")
        m = re.search(r"/files/([^/]+)/content$", path) or re.search(r"/batches/([^/]+)$", path)
        if m:
            api = self.owner.batch_api
            if path.endswith("/content"):
                status, data = api.content(m.group(1))
                self._send(status, data, ctype="application/octet-stream" if status == 200 else "application/json")
            else:
                status, payload = api.retrieve(m.group(1))
                self._send(status, json.dumps(payload).encode())
            self.owner._done(rec, status)
        elif self.path.rstrip("/").endswith("/models"):
            data = {"object": "list", "data": [{"id": self.owner.model, "object": "model",
                                               "created": 0, "owned_by": "rubricate-test"}]}
            self._send(200, json.dumps(data).encode())
            self.owner._done(rec, 200)
        else:
            self._send(404, _error("not found", "not_found_error"))
            self.owner._done(rec, 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_bytes = self.rfile.read(length)
        raw = raw_bytes.decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        rec = self.owner._record("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        status: int | None = None
        path = self.path.split("?")[0].rstrip("/")
        try:
            if path.endswith("/files"):
                status, payload = self.owner.batch_api.upload(self.headers.get("Content-Type", ""), raw_bytes)
                self._send(status, json.dumps(payload).encode())
            elif path.endswith("/batches"):
                status, payload = self.owner.batch_api.create(body if isinstance(body, dict) else {})
                self._send(status, json.dumps(payload).encode())
            else:
                status = self._complete(rec, raw, body)
        finally:
            self.owner._done(rec, status)

    def _complete(self, rec: RecordedRequest, raw: str, body: Any) -> int | None:
        owner = self.owner
        if not self.path.rstrip("/").endswith("/chat/completions") or not isinstance(body, dict):
            self._send(404 if isinstance(body, dict) else 400, _error("bad request", "invalid_request_error"))
            return 404 if isinstance(body, dict) else 400
        fault = owner._fault_for(rec.completion_n, raw)
        rec.fault = fault.kind if fault else None
        if owner.latency:
            time.sleep(owner.latency)
        if fault is not None:
            handled = self._fault(fault)
            if handled is not False:
                return handled
        status, payload = owner.completion(body, rec.n, empty=fault is not None and fault.kind == "empty")
        if status != 200:
            self._send(status, json.dumps(payload).encode())
            return status
        data = json.dumps(payload).encode()
        if fault is not None and fault.kind == "truncated":
            data = data[: len(data) // 2]
        self._send(200, data)
        return 200

    def _fault(self, fault: Fault) -> int | None | bool:
        """Apply a fault; return the status sent, None for no reply, False to go on."""
        kind = fault.kind
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        if kind in {"429", "500", "503", "400", "401"}:
            status = int(kind)
            etype = {429: "rate_limit_error", 401: "invalid_api_key"}.get(status, "server_error")
            self._send(status, _error(fault.message or f"injected {status}", etype), headers=headers)
            return status
        if kind == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return None
        if kind == "slow":
            time.sleep(fault.delay)
            return False
        if kind == "plaintext":
            self._send(200, b"upstream proxy error: gateway busy", ctype="text/plain")
            return 200
        return False  # truncated / empty are applied to the normal reply


def _error(message: str, etype: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": etype, "code": None}}).encode()


@pytest.fixture
def make_server():
    """Factory fixture: ``make_server(answer=..., faults=...)`` starts a server, stopped after."""
    started: list[OpenAIServer] = []

    def factory(*args: Any, **kwargs: Any) -> OpenAIServer:
        srv = OpenAIServer(*args, **kwargs).start()
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        srv.stop()


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    with OpenAIServer(latency=args.latency) as srv:
        print(f"READY {srv.base_url}", flush=True)
        try:
            sys.stdin.read()  # serve until the parent closes our stdin
        except KeyboardInterrupt:
            pass
        print(json.dumps({"requests": len(srv.completions), "max_in_flight": srv.max_in_flight}),
              flush=True)


if __name__ == "__main__":
    _main()

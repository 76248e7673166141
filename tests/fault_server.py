"""A hostile OpenAI-compatible endpoint on 127.0.0.1 for the safety tests and bench/.

The first path segment picks the behaviour, so one server serves every case:
``http://127.0.0.1:PORT/<mode>/v1``. Modes: ``ok`` (a judge answer, or the stimulus echoed
for a model under test), ``trickle`` (a valid reply one byte every ``trickle_gap`` s),
``loop`` (307 to itself), ``cross`` (307 to another origin), ``429`` (always, Retry-After 0),
``refusal`` (content null, message.refusal set), ``null`` (content null, no refusal),
``echo`` (the API key from the Authorization header, whole and in part, in a 200 body),
``echo-error`` (a 400 whose message quotes the key's last 9 characters), ``flaky`` (HTTP 500
for a share ``fail_rate`` of requests, seeded), ``long`` (a judge answer padded to 40,000
characters, finish_reason "length"). Every request is counted per mode.
"""
from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JUDGE_REPLY = json.dumps({"explanation": "scripted", "answer": "no", "evidence": []})


class FaultServer:
    def __init__(self, trickle_gap: float = 0.2, fail_rate: float = 0.02, seed: int = 0) -> None:
        self.trickle_gap, self.fail_rate = trickle_gap, fail_rate
        self.counts: Counter[str] = Counter()
        self.remap: dict[str, str] = {}  # e.g. {"429": "ok"}: the endpoint recovers, same URL
        self.last_body: dict[str, dict] = {}  # per mode, the last request body
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FaultServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/v1"

    def fail(self) -> bool:
        with self._lock:
            return self._rng.random() < self.fail_rate


def _completion(content: str | None, refusal: str | None = None, model: str = "m") -> bytes:
    message = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    return json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": model,
                       "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
                       "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()


class _Handler(BaseHTTPRequestHandler):
    owner: FaultServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        mode = self.path.strip("/").split("/")[0]
        with self.owner._lock:
            self.owner.counts[mode] += 1
            mode = self.owner.remap.get(mode, mode)
        body = json.loads(raw or b"{}")
        with self.owner._lock:
            self.owner.last_body[mode] = body
        key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        last = str((body.get("messages") or [{}])[-1].get("content", ""))
        judging = "<response>" in last
        answer = JUDGE_REPLY if judging else f"A reply to: {last[:40]}"
        if mode == "ok":
            self._send(200, _completion(answer))
        elif mode == "flaky":
            if self.owner.fail():
                self._send(500, b'{"error": {"message": "injected 500"}}')
            else:
                self._send(200, _completion(answer))
        elif mode == "trickle":
            data = _completion(answer)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                for i in range(len(data)):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(self.owner.trickle_gap)
            except OSError:
                return
        elif mode == "loop":
            self._send(307, b"", {"Location": self.path})
        elif mode == "cross":
            self._send(307, b"", {"Location": f"http://localhost:{self.owner.port}/ok/v1/chat/completions"})
        elif mode == "429":
            self._send(429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "0"})
        elif mode == "long":  # a runaway judge: an answer, then 40,000 characters, cut at the cap
            text = json.dumps({"explanation": "x" * 40_000, "answer": "yes", "evidence": []})
            data = json.loads(_completion(text))
            data["choices"][0]["finish_reason"] = "length"
            self._send(200, json.dumps(data).encode())
        elif mode == "refusal":
            self._send(200, _completion(None, "I can't help with that request."))
        elif mode == "null":
            self._send(200, _completion(None))
        elif mode == "echo":
            text = f"your key is {key}; its tail is {key[-9:]}; " + (answer if judging else "hello")
            if judging:
                text = json.dumps({"explanation": f"key {key} tail {key[-9:]}", "answer": "no", "evidence": []})
            self._send(200, _completion(text, model=f"model-{key[-10:]}"))
        elif mode == "echo-error":
            msg = f"Incorrect API key provided: ...{key[-9:]}"
            self._send(400, json.dumps({"error": {"message": msg}}).encode())
        else:
            self._send(404, b'{"error": {"message": "no such mode"}}')


def _main() -> None:
    """Serve until stdin closes: ``python tests/fault_server.py [--fail-rate 0.02]`` prints
    ``READY <http://127.0.0.1:PORT>`` (append ``/<mode>/v1``), then per-mode counts as JSON."""
    import argparse
    import sys
    ap = argparse.ArgumentParser(description=_main.__doc__.splitlines()[0])
    ap.add_argument("--fail-rate", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with FaultServer(fail_rate=args.fail_rate, seed=args.seed) as srv:
        print(f"READY http://127.0.0.1:{srv.port}", flush=True)
        sys.stdin.read()
        print(json.dumps(dict(srv.counts)), flush=True)


if __name__ == "__main__":
    _main()

"""One chat-completion request through the ``openai`` client, with failures classified.

The client's own retries are off (``max_retries=0``): retrying is the runner's job, so it
can honour Retry-After, slow down on rate limits and count every attempt. The raw body is
parsed here, so a plain-text or truncated reply becomes a retryable ``bad-body`` error
instead of a crash deep inside the library.
"""
from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass, field
from typing import Any

import openai
from openai import AsyncOpenAI

try:  # openai >= 3 runs on httpx2; older releases on httpx
    import httpx2 as _httpx
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx as _httpx

from .endpoint import EndpointConfig, redact
from .retry import CallError, parse_retry_after


@dataclass
class Reply:
    """The assistant text of one completion and its token usage."""

    text: str
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None
    model: str | None = None


_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


def _aiohttp_usable() -> bool:
    """openai's aiohttp transport (the ``openai[aiohttp]`` extra), when installed and no
    proxy is configured in the environment (that transport does not read proxy variables;
    httpx does, so with a proxy we stay on httpx)."""
    if any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARS):
        return False
    if importlib.util.find_spec("aiohttp") is None:
        return False
    return hasattr(openai, "DefaultAioHttpClient")


def make_client(endpoint: EndpointConfig) -> AsyncOpenAI:
    """An async client for the endpoint; the key is read from the environment here only.

    One client (and one connection pool) serves a whole run; the pool keeps as many
    connections alive as requests may be in flight (with the library default of 100 kept
    alive, a run at concurrency 128 would keep closing and re-opening connections). The
    transport is openai's aiohttp one when available: per request it costs about 0.4 ms of
    CPU less than httpx, which is what limits throughput at high concurrency.
    """
    default = openai.DEFAULT_CONNECTION_LIMITS
    limits = type(default)(max_connections=max(endpoint.max_concurrency, default.max_connections or 0),
                           max_keepalive_connections=max(endpoint.max_concurrency,
                                                         default.max_keepalive_connections or 0),
                           keepalive_expiry=default.keepalive_expiry)
    http_client = openai.DefaultAioHttpClient if _aiohttp_usable() else openai.DefaultAsyncHttpxClient
    return AsyncOpenAI(api_key=endpoint.api_key(), base_url=endpoint.url, timeout=endpoint.timeout,
                       max_retries=0, http_client=http_client(limits=limits, timeout=endpoint.timeout))


def _connection_lost(exc: BaseException) -> bool:
    """True when a "timeout" from the aiohttp transport is really a lost connection.

    openai's aiohttp adapter maps every aiohttp connection error (server closed the
    connection, connection refused) to a connect *timeout*; its root cause tells them apart.
    """
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    return type(root).__module__.startswith("aiohttp") and not isinstance(root, TimeoutError)


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        msg = err.get("message") if isinstance(err, dict) else err
        if msg:
            return str(msg)[:300]
    return ""


async def send(client: AsyncOpenAI, endpoint: EndpointConfig, messages: list[dict],
               settings: dict[str, Any], response_format: dict | None = None) -> Reply:
    """Send one request; return the reply or raise ``CallError`` (message redacted)."""
    body: dict[str, Any] = {"model": endpoint.model, "messages": messages}
    for name in ("temperature", "seed", "max_tokens"):
        if settings.get(name) is not None:
            body[name] = settings[name]
    if response_format is not None:
        body["response_format"] = response_format
    if endpoint.extra_body:
        body.update(endpoint.extra_body)  # as the client's extra_body: merged, and wins
    key = client.api_key if isinstance(client.api_key, str) else ""
    try:
        # The client's generic POST with the raw HTTP response, not chat.completions.create:
        # the same request, auth, timeout and error classes, but without the typed-params
        # transform (it walks every message against the TypedDicts, ~1 ms of CPU per call)
        # or a response wrapper; the body is parsed by parse_body below.
        raw = await client.post("/chat/completions", cast_to=_httpx.Response, body=body)
        text = raw.text
    except openai.APIConnectionError as exc:  # APITimeoutError is a subclass
        if isinstance(exc, openai.APITimeoutError) and not _connection_lost(exc):
            raise CallError("timeout", f"request timed out after {endpoint.timeout:g}s") from None
        cause = exc.__cause__
        while isinstance(exc, openai.APITimeoutError) and cause is not None and cause.__cause__ is not None:
            cause = cause.__cause__  # name the aiohttp error, not the adapter's "ConnectTimeout"
        name = type(cause).__name__ if cause else "connection error"
        raise CallError("connection", f"connection failed ({name})") from None
    except openai.APIStatusError as exc:
        msg = redact(_server_message(exc), key)
        retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
        ms = exc.response.headers.get("retry-after-ms")
        if retry_after is None and ms:
            try:
                retry_after = float(ms) / 1000
            except ValueError:
                pass
        reason = f"HTTP {exc.status_code}" + (f": {msg}" if msg else "")
        raise CallError("http", reason, exc.status_code, retry_after) from None
    return parse_body(text, key)


def parse_body(text: str, key: str = "") -> Reply:
    """Read a chat.completion JSON body; anything else is a retryable ``bad-body``."""
    try:
        data = json.loads(text)
    except ValueError:
        snippet = redact(" ".join(text[:60].split()), key)
        raise CallError("bad-body", f"reply body is not JSON ({len(text)} bytes: {snippet!r})") from None
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise CallError("bad-body", "reply JSON has no choices[0].message") from None
    usage = data.get("usage") or {}
    return Reply(
        text=message.get("content") or "",
        usage={k: int(usage.get(k) or 0) for k in ("prompt_tokens", "completion_tokens", "total_tokens")},
        finish_reason=choice.get("finish_reason"),
        model=data.get("model"),
    )

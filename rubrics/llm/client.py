"""One chat-completion request through the ``openai`` client, with failures classified.

The client's own retries are off (``max_retries=0``): retrying is the runner's job, so it
can honour Retry-After, slow down on rate limits and count every attempt. The raw body is
parsed here, so a plain-text or truncated reply becomes a retryable ``bad-body`` error
instead of a crash deep inside the library.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import openai
from openai import AsyncOpenAI

from .endpoint import EndpointConfig, redact
from .retry import CallError, parse_retry_after


@dataclass
class Reply:
    """The assistant text of one completion and its token usage."""

    text: str
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None
    model: str | None = None


def make_client(endpoint: EndpointConfig) -> AsyncOpenAI:
    """An async client for the endpoint; the key is read from the environment here only."""
    return AsyncOpenAI(api_key=endpoint.api_key(), base_url=endpoint.url,
                       timeout=endpoint.timeout, max_retries=0)


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
    kwargs: dict[str, Any] = {"model": endpoint.model, "messages": messages}
    for name in ("temperature", "seed", "max_tokens"):
        if settings.get(name) is not None:
            kwargs[name] = settings[name]
    if response_format is not None:
        kwargs["response_format"] = response_format
    if endpoint.extra_body:
        kwargs["extra_body"] = endpoint.extra_body
    key = client.api_key if isinstance(client.api_key, str) else ""
    try:
        raw = await client.chat.completions.with_raw_response.create(**kwargs)
        text = raw.text
    except openai.APITimeoutError:
        raise CallError("timeout", f"request timed out after {endpoint.timeout:g}s") from None
    except openai.APIConnectionError as exc:
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
        raise CallError("connection", f"connection failed ({cause})") from None
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

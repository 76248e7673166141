"""One chat-completion request through the ``openai`` client, with failures classified.

The client's own retries are off (``max_retries=0``): retrying is the runner's job, so it
can honour Retry-After, slow down on rate limits and count every attempt. The raw body is
parsed here, so a plain-text or truncated reply becomes a retryable ``bad-body`` error
instead of a crash deep inside the library.
"""
from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import openai
from openai import AsyncOpenAI

try:  # the openai[aiohttp] extra (a dependency): the fast transport
    import aiohttp
except ImportError:  # pragma: no cover - then requests go through httpx
    aiohttp = None  # type: ignore[assignment]

try:  # openai >= 3 runs on httpx2; older releases on httpx
    import httpx2 as _httpx
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx as _httpx

from rubricate.guidelines.kernel.textsafe import repair_text, terminal_safe

from .endpoint import EndpointConfig, redact
from .retry import CallError, parse_retry_after


@dataclass
class Reply:
    """The assistant text of one completion and its token usage."""

    text: str
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None
    model: str | None = None
    refusal: str | None = None  # the model declined (message.refusal); ``text`` is then ""


_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


def _aiohttp_usable() -> bool:
    """openai's aiohttp transport (the ``openai[aiohttp]`` extra), when installed and no
    proxy is configured in the environment (that transport does not read proxy variables;
    httpx does, so with a proxy we stay on httpx)."""
    if any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARS):
        return False
    if aiohttp is None:
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
    limits = type(default)(max_connections=max(endpoint.concurrency_bound, default.max_connections or 0),
                           max_keepalive_connections=max(endpoint.concurrency_bound,
                                                         default.max_keepalive_connections or 0),
                           keepalive_expiry=default.keepalive_expiry)
    http_client = openai.DefaultAioHttpClient if _aiohttp_usable() else openai.DefaultAsyncHttpxClient
    # Redirects are not followed: a loop would count as a retryable connection error, and a
    # redirect to another origin would carry the Authorization header there (see send()).
    return AsyncOpenAI(api_key=endpoint.api_key(), base_url=endpoint.url, timeout=endpoint.timeout,
                       max_retries=0, http_client=http_client(limits=limits, timeout=endpoint.timeout,
                                                              follow_redirects=False))


def _chain(exc: BaseException) -> list[BaseException]:
    out, seen = [], set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def classify_connection_error(exc: BaseException, endpoint: EndpointConfig) -> CallError:
    """The real cause of a transport failure, worded for the user.

    openai's aiohttp adapter reports every connection error (refused, unknown host, TLS)
    as a connect *timeout*; the root of the exception chain tells them apart.
    """
    host = urlsplit(endpoint.url).netloc or endpoint.url
    chain = _chain(exc)
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return CallError("refused", f"connection refused by {host} (is the server running?)")
        if isinstance(e, socket.gaierror) or type(e).__name__ == "ClientConnectorDNSError":
            return CallError("dns", f"cannot resolve host {urlsplit(endpoint.url).hostname} (DNS)")
        if isinstance(e, ssl.SSLError) or "Certificate" in type(e).__name__ or "SSL" in type(e).__name__:
            detail = getattr(e, "reason", None) or type(e).__name__
            return CallError("tls", f"TLS handshake with {host} failed ({detail})")
    root = chain[-1]
    lost = type(root).__module__.startswith("aiohttp") and not isinstance(root, TimeoutError)
    if isinstance(exc, openai.APITimeoutError) and not lost or \
            not lost and any(isinstance(e, TimeoutError) for e in chain):
        return CallError("timeout", f"request timed out: no reply from {host} within {endpoint.timeout:g}s")
    return CallError("connection", f"connection failed: {host} dropped the connection ({type(root).__name__})")


def _server_error(body: Any) -> tuple[str, str | None]:
    """The server's message and the parameter it names, from an OpenAI-style error body."""
    msg, param = "", None
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("detail") or ""
            param = err.get("param")
            if isinstance(msg, list):  # FastAPI/pydantic: [{"loc": [...], "msg": ...}]
                param = param or ".".join(str(x) for x in (msg[0].get("loc") or [])) if msg and isinstance(msg[0], dict) else param
                msg = "; ".join(str(m.get("msg", m)) if isinstance(m, dict) else str(m) for m in msg)
        else:
            msg = err
    elif isinstance(body, str):
        msg = body
    # shown on a terminal: control and bidi characters from the server escaped
    return terminal_safe(" ".join(str(msg or "").split())[:300], keep_newlines=False), (str(param) if param else None)


async def send(client: AsyncOpenAI, endpoint: EndpointConfig, body: dict[str, Any],
               transport: "ChatTransport | None" = None) -> Reply:
    """Send one request body; return the reply or raise ``CallError`` (message redacted).

    With a ``transport`` (aiohttp installed, no proxy) the request goes straight over its
    aiohttp session; else through the openai client's generic POST.
    """
    key = client.api_key if isinstance(client.api_key, str) else ""
    if transport is not None:
        return await transport.post(body, key)
    try:
        # The client's generic POST with the raw HTTP response, not chat.completions.create:
        # the same request, auth, timeout and error classes, but without the typed-params
        # transform (it walks every message against the TypedDicts, ~1 ms of CPU per call)
        # or a response wrapper; the body is parsed by parse_body below.
        # ``timeout`` bounds each gap between bytes; the deadline bounds the whole request, so a
        # server trickling one byte a second cannot hold a call for minutes.
        async with asyncio.timeout(endpoint.timeout):
            raw = await client.post("/chat/completions", cast_to=_httpx.Response, body=body)
            text = raw.text
    except TimeoutError:
        raise _deadline(endpoint) from None
    except openai.OpenAIError as exc:
        raise translate_error(exc, endpoint, key) from None
    return parse_body(text, key)


def _deadline(endpoint: EndpointConfig) -> CallError:
    host = urlsplit(endpoint.url).netloc or endpoint.url
    return CallError("timeout", f"request timed out: no complete reply from {host} within "
                                f"{endpoint.timeout:g}s (total deadline)")


class ChatTransport:
    """POST /chat/completions over one aiohttp session, with the openai client's headers.

    The openai client builds each request through httpx-style models, pydantic options, an
    auth wrapper and header merging: about 0.7 ms of CPU per request, five times what the
    HTTP exchange itself costs in aiohttp, and at a few hundred requests in flight the
    client's CPU is what limits throughput. This sends the same request (URL, headers with
    the key, JSON body; no redirects followed; ``timeout`` per connect and per read gap, a
    total deadline of ``timeout``) and classifies failures exactly as the openai path does.
    Created inside the running event loop (aiohttp's session belongs to one loop).
    """

    def __init__(self, endpoint: EndpointConfig, client: AsyncOpenAI) -> None:
        self.endpoint = endpoint
        self.url = endpoint.url + "/chat/completions"
        headers = {**client.default_headers, **client.auth_headers}
        self.headers = {k: v for k, v in headers.items() if isinstance(v, str)}  # openai.Omit: not sent
        bound = endpoint.concurrency_bound
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=bound, limit_per_host=bound, keepalive_timeout=30),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=endpoint.timeout, sock_read=endpoint.timeout),
            headers=self.headers, auto_decompress=True, trust_env=False)

    async def post(self, body: dict[str, Any], key: str = "") -> Reply:
        data = json.dumps(body, separators=(",", ":")).encode()  # ASCII: a lone surrogate stays an escape
        try:
            async with asyncio.timeout(self.endpoint.timeout):
                async with self.session.post(self.url, data=data, allow_redirects=False) as resp:
                    raw = await resp.read()
                    status, headers = resp.status, resp.headers
        except aiohttp.ClientError as exc:  # its read/connect timeouts included
            raise classify_connection_error(exc, self.endpoint) from None
        except TimeoutError:
            raise _deadline(self.endpoint) from None
        except OSError as exc:
            raise classify_connection_error(exc, self.endpoint) from None
        text = raw.decode("utf-8", "replace")
        if not 200 <= status < 300:
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = text
            raise status_error(status, headers, parsed, self.endpoint, key)
        return parse_body(text, key)

    async def close(self) -> None:
        await self.session.close()


def make_transport(endpoint: EndpointConfig, client: AsyncOpenAI) -> ChatTransport | None:
    """The fast chat transport where openai's aiohttp transport would be used, else None
    (with a proxy in the environment requests stay on httpx, which reads it)."""
    return ChatTransport(endpoint, client) if _aiohttp_usable() else None


def translate_error(exc: BaseException, endpoint: EndpointConfig, key: Any = "") -> CallError:
    """An openai exception as a classified ``CallError`` (message redacted)."""
    key = key if isinstance(key, str) else ""
    if isinstance(exc, openai.APIConnectionError):  # APITimeoutError is a subclass
        return classify_connection_error(exc, endpoint)
    if isinstance(exc, openai.APIStatusError):
        return status_error(exc.status_code, exc.response.headers, exc.body, endpoint, key)
    return CallError("bad-body", redact(f"unexpected reply ({type(exc).__name__}: {exc})"[:300], key))


def status_error(status: int, headers: Any, body: Any, endpoint: EndpointConfig, key: str = "") -> CallError:
    """A reply with a non-2xx status as a classified ``CallError`` (message redacted).
    ``headers`` is any case-insensitive mapping; ``body`` the parsed JSON, else its text."""
    if 300 <= status < 400:
        return _redirect_error(status, headers, endpoint, key)
    msg, param = _server_error(body)
    msg = redact(msg, key)
    retry_after = parse_retry_after(headers.get("retry-after"))
    ms = headers.get("retry-after-ms")
    if retry_after is None and ms:
        try:
            retry_after = float(ms) / 1000
        except ValueError:
            pass
    reason = f"HTTP {status}" + (f": {msg}" if msg else "")
    return CallError("http", reason, status, retry_after, param, msg)


def _redirect_error(status: int, headers: Any, endpoint: EndpointConfig, key: str) -> CallError:
    """A 3xx is never followed: same-origin it names where to point --base-url; another
    origin (or a loop back to itself) is refused outright. Either way the run stops
    (CallError.fatal): every call would get the same answer."""
    location = redact(headers.get("location") or "", key)
    target = urljoin(endpoint.url + "/", location) if location else ""
    here, there = urlsplit(endpoint.url), urlsplit(target)
    if not target:
        what = "a redirect without a Location"
    elif (there.scheme, there.netloc) != (here.scheme, here.netloc):
        what = f"a cross-origin redirect to {there.scheme}://{there.netloc} (not followed: the API key would go there)"
    elif there.path.rstrip("/") == f"{here.path.rstrip('/')}/chat/completions":
        what = "a redirect loop (to the same address)"
    else:
        what = f"a redirect to {there.path} (not followed: set --base-url to the final address)"
    return CallError("http", f"HTTP {status}: {what}", status)


def parse_body(text: str, key: str = "") -> Reply:
    """Read a chat.completion JSON body; anything else is a retryable ``bad-body``.

    The text is repaired (lone surrogates) and redacted (an echoed key) here, so nothing
    downstream - cache, results, reports - ever holds either. Null content without a
    refusal is a failed call (``bad-body``), not an empty answer.
    """
    try:
        data = json.loads(text)
    except RecursionError:
        raise CallError("bad-body", "reply JSON is nested too deeply") from None
    except ValueError:
        snippet = redact(" ".join(text[:60].split()), key)
        raise CallError("bad-body", f"reply body is not JSON ({len(text)} bytes: {snippet!r})") from None
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise CallError("bad-body", "reply JSON has no choices[0].message") from None
    if not isinstance(message, dict):
        raise CallError("bad-body", "reply JSON has no choices[0].message")
    content, refusal = message.get("content"), message.get("refusal")
    if not isinstance(refusal, str) or not refusal.strip():
        refusal = None
    if not isinstance(content, str) and refusal is None:
        raise CallError("bad-body", "reply has no content (null) and no refusal")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}

    def clean(value: object) -> str:
        return redact(repair_text(value)[0], key) if isinstance(value, str) else ""

    def count(value: object) -> int:
        return value if isinstance(value, int) and 0 <= value < 10 ** 12 else 0

    model = data.get("model")
    return Reply(
        text=clean(content) if refusal is None else "",
        usage={k: count(usage.get(k)) for k in ("prompt_tokens", "completion_tokens", "total_tokens")},
        finish_reason=clean(choice.get("finish_reason")) or None,
        model=clean(model) or None,
        refusal=clean(refusal) if refusal is not None else None,
    )

"""Where and how to call a model: one OpenAI-compatible endpoint and its settings.

The config holds the *name* of the environment variable with the API key, never the key
itself, so it can be printed, logged and written into reports without leaking a secret.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rubricate.guidelines.kernel.errors import ConfigurationError
from rubricate.guidelines.kernel.redaction import redact as redact_secrets, register_secret

from .limiter import AUTO, concurrency_bound, concurrency_wave, parse_concurrency

OPENAI_BASE_URL = "https://api.openai.com/v1"
BATCH_DISCOUNT = 0.5  # OpenAI, Together: a request through the batch API costs half the online price
PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True)
class Price:
    """USD per one million input (prompt) and output (completion) tokens."""

    input_per_million: float
    output_per_million: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_million
                + completion_tokens * self.output_per_million) / 1_000_000

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Price":
        """From {"input": x, "output": y} or {"input_per_million": x, "output_per_million": y}."""
        try:
            return cls(float(data.get("input_per_million", data.get("input"))),
                       float(data.get("output_per_million", data.get("output"))))
        except (TypeError, ValueError):
            raise ConfigurationError("price: need numeric 'input' and 'output' (USD per 1M tokens)") from None

    @classmethod
    def parse(cls, text: str) -> "Price":
        """From ``--price-per-mtok IN,OUT`` (USD per million input and output tokens)."""
        parts = [p.strip() for p in str(text).split(",")]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 2 or min(values) < 0:
            raise ConfigurationError(f"--price-per-mtok wants IN,OUT in USD per million tokens "
                                 f"(e.g. 2.5,10), not {text!r}")
        return cls(values[0], values[1])


@dataclass(frozen=True)
class EndpointConfig:
    """One model behind an OpenAI-compatible API (OpenAI, vLLM, Ollama, llama.cpp, ...).

    Deterministic by default (temperature 0, fixed seed) so that verdicts are reproducible
    and cacheable. ``max_retries`` counts retries after the first attempt.
    """

    model: str
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float | None = None  # None: the protocol's (0 for every judge protocol)
    seed: int | None = 0
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    reasoning_effort: str | None = None
    timeout: float = 60.0
    max_concurrency: int | str = AUTO  # a fixed cap, or "auto": found by the limiter (limiter.py)
    max_retries: int = 4
    retry_base_delay: float = 0.5
    retry_max_delay: float = 30.0
    max_retry_after: float = 120.0
    price: Price | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    base_url_source: str = "default"  # "--base-url", "OPENAI_BASE_URL" or "default"

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigurationError("endpoint: model name is empty")
        try:
            object.__setattr__(self, "max_concurrency", parse_concurrency(self.max_concurrency))
        except ValueError as exc:
            raise ConfigurationError(f"endpoint: {exc}") from None
        if self.max_retries < 0 or not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ConfigurationError(f"endpoint: max_retries must be >= 0 and timeout a finite number > 0 "
                                     f"(got {self.timeout!r})")
        if self.temperature is not None and not (math.isfinite(self.temperature) and 0 <= self.temperature <= 2):
            raise ConfigurationError(f"endpoint: temperature must be a number from 0 to 2, got {self.temperature!r}")
        if self.base_url is not None:
            check_base_url(self.base_url)

    @property
    def concurrency_bound(self) -> int:
        """The most requests in flight at once: the fixed cap, or auto's ceiling."""
        return concurrency_bound(self.max_concurrency)

    @property
    def concurrency_wave(self) -> int:
        """Requests that may fail together (the breaker's and the retry budget's allowance)."""
        return concurrency_wave(self.max_concurrency)

    @property
    def url(self) -> str:
        """The base URL actually used (OpenAI's when none is set), without trailing slash."""
        return (self.base_url or OPENAI_BASE_URL).rstrip("/")

    def api_key(self) -> str:
        """The key from the environment; a placeholder for a local server that needs none."""
        key = os.environ.get(self.api_key_env, "")
        if key:
            register_secret(key)  # every writer now removes it (and its fragments)
            return key
        if self.base_url and self.url != OPENAI_BASE_URL:
            return PLACEHOLDER_KEY
        raise ConfigurationError(f"environment variable {self.api_key_env} is not set "
                                 "(needed for the OpenAI API; use --base-url or OPENAI_BASE_URL "
                             "for another server)")

    def explicit_params(self) -> frozenset[str]:
        """Generation parameters the user set, sent even to a model family known to reject
        them (a 400 then drops them)."""
        return frozenset(n for n in ("temperature", "max_tokens", "max_completion_tokens",
                                     "reasoning_effort") if getattr(self, n) is not None)

    def banner(self) -> str:
        """The effective endpoint in one line (never the key), printed once per run."""
        src = {"--base-url": "from --base-url", "OPENAI_BASE_URL": "from $OPENAI_BASE_URL",
               "default": "OpenAI default"}.get(self.base_url_source, self.base_url_source)
        return f"endpoint: {self.url} ({src}), model {self.model}, key from ${self.api_key_env}"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        return self.price.cost(prompt_tokens, completion_tokens) if self.price else None

    def describe(self) -> dict[str, Any]:
        """Settings safe to write into reports and run manifests (no secret)."""
        out = asdict(self)
        out["base_url"] = self.url
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EndpointConfig":
        """Build from a plain mapping (YAML/JSON config or CLI options); unknown keys fail."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(f"endpoint: unknown setting(s) {', '.join(unknown)}")
        data = dict(data)
        if isinstance(data.get("price"), dict):
            data["price"] = Price.from_dict(data["price"])
        return cls(**data)


def resolve_base_url(option: str | None) -> tuple[str | None, str]:
    """``--base-url``, else ``$OPENAI_BASE_URL`` (as the openai SDK, Inspect and promptfoo
    read it), else OpenAI; with where it came from."""
    if option:
        return option, "--base-url"
    env = os.environ.get("OPENAI_BASE_URL", "").strip()
    if env:
        return env, "OPENAI_BASE_URL"
    return None, "default"


def parse_extra_body(text: str | None) -> dict[str, Any]:
    """``--extra-body JSON``: a JSON object merged into every request body."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"--extra-body is not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ConfigurationError("--extra-body must be a JSON object, e.g. '{\"top_p\": 0.9}'")
    clash = sorted({"model", "messages"} & set(data))
    if clash:
        raise ConfigurationError(f"--extra-body may not set {', '.join(clash)}")
    return data


def endpoint_from_options(llm_model: str | None, base_url: str | None = None,
                          api_key_env: str = "OPENAI_API_KEY", *, price_table: Any = None,
                          price_per_mtok: str | None = None, extra_body: str | dict | None = None,
                          **settings: Any) -> EndpointConfig:
    """The endpoint the command-line options describe, checked before any work starts:
    model given, key present where one is needed, price and extra body readable."""
    if not llm_model:
        raise ConfigurationError("--model is required for an LLM (name of the model at the endpoint)")
    url, source = resolve_base_url(base_url)
    price = Price.parse(price_per_mtok) if price_per_mtok else None
    if price is None and price_table:
        try:
            table = json.loads(Path(price_table).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigurationError(f"cannot read price table: {exc}", path=str(price_table)) from None
        if isinstance(table, dict) and llm_model in table:
            price = Price.from_dict(table[llm_model])
    body = extra_body if isinstance(extra_body, dict) else parse_extra_body(extra_body)
    known = {f.name for f in fields(EndpointConfig)}
    cfg = EndpointConfig(model=llm_model, base_url=url, base_url_source=source, api_key_env=api_key_env,
                         price=price, extra_body=body,
                         **{k: v for k, v in settings.items() if k in known and v is not None})
    cfg.api_key()  # fail now, with a clear message, if a key is needed and missing
    return cfg


def check_base_url(url: str) -> None:
    """An http(s) URL with a host and no credentials in it (a user:password@ in the URL would
    be sent to the server and written into run manifests and reports)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a non-numeric port
    except ValueError as exc:
        raise ConfigurationError(f"endpoint: base URL is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError("endpoint: base URL must start with http:// or https:// and name a host")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError("endpoint: base URL must not hold credentials (user:password@); put the key in "
                                 "the environment variable named by --api-key-env")


_SECRETISH = re.compile(r"((?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{3,}|Bearer\s+\S+)")


def redact(text: str, *secrets: str) -> str:
    """Remove key-like strings from text that may reach logs, results or exceptions.

    Servers echo bad keys in error messages ("Incorrect API key provided: sk-...") and
    sometimes in completions, so any text taken from a reply passes through here before it
    is stored: the key, any 8+ character fragment of it (kernel.redaction), and anything
    shaped like a key or a bearer token.
    """
    real = [s for s in secrets if s and s != PLACEHOLDER_KEY]
    for secret in real:
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _SECRETISH.sub("[redacted]", redact_secrets(text, *real))

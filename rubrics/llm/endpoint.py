"""Where and how to call a model: one OpenAI-compatible endpoint and its settings.

The config holds the *name* of the environment variable with the API key, never the key
itself, so it can be printed, logged and written into reports without leaking a secret.
"""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from rubricate.guidelines.kernel.errors import ConfigurationError

OPENAI_BASE_URL = "https://api.openai.com/v1"
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


@dataclass(frozen=True)
class EndpointConfig:
    """One model behind an OpenAI-compatible API (OpenAI, vLLM, Ollama, llama.cpp, ...).

    Deterministic by default (temperature 0, fixed seed) so that verdicts are reproducible
    and cacheable. ``max_retries`` counts retries after the first attempt.
    """

    model: str
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int | None = None
    timeout: float = 60.0
    max_concurrency: int = 8
    max_retries: int = 4
    retry_base_delay: float = 0.5
    retry_max_delay: float = 30.0
    max_retry_after: float = 120.0
    price: Price | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigurationError("endpoint: model name is empty")
        if self.max_concurrency < 1:
            raise ConfigurationError(f"endpoint: max_concurrency must be >= 1, got {self.max_concurrency}")
        if self.max_retries < 0 or self.timeout <= 0:
            raise ConfigurationError("endpoint: max_retries must be >= 0 and timeout > 0")

    @property
    def url(self) -> str:
        """The base URL actually used (OpenAI's when none is set), without trailing slash."""
        return (self.base_url or OPENAI_BASE_URL).rstrip("/")

    def api_key(self) -> str:
        """The key from the environment; a placeholder for a local server that needs none."""
        key = os.environ.get(self.api_key_env, "")
        if key:
            return key
        if self.base_url:
            return PLACEHOLDER_KEY
        raise ConfigurationError(f"environment variable {self.api_key_env} is not set "
                             "(needed for the OpenAI API; set base_url for a local server)")

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


_SECRETISH = re.compile(r"((?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{3,}|Bearer\s+\S+)")


def redact(text: str, *secrets: str) -> str:
    """Remove key-like strings from text that may reach logs, results or exceptions.

    Servers echo bad keys in error messages ("Incorrect API key provided: sk-..."), so any
    message taken from a reply passes through here before it is stored.
    """
    for secret in secrets:
        if secret and secret != PLACEHOLDER_KEY and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _SECRETISH.sub("[redacted]", text)

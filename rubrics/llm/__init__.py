"""LLM judge and model-under-test client for any OpenAI-compatible endpoint.

Entry points: ``judge_many`` / ``judge_many_sync`` (verdicts on responses, with the judge
protocols of ``PROTOCOLS``: criterion, item, moore2025 and any registered plug-in) and
``generate_many`` / ``generate_many_sync`` (replies of a model under test), with an on-disk
cache, bounded concurrency and retries.

The names below are imported on first use (PEP 562) for start-up time: the CLI reads the
protocol registry for its choices without loading the HTTP client.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Cache": "cache", "default_cache_dir": "cache", "open_cache": "cache",
    "EndpointConfig": "endpoint", "Price": "endpoint", "redact": "endpoint",
    "GenerateTask": "generate", "Generation": "generate", "generate_many": "generate",
    "generate_many_sync": "generate",
    "JudgeResult": "judge", "JudgeTask": "judge", "judge_many": "judge", "judge_many_sync": "judge",
    "PROTOCOLS": "protocols", "get_protocol": "protocols",
    "RunStats": "runner",
    "STEERING_FLAG": ("steering", "FLAG"), "detect_steering": ("steering", "detect"),
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    spec = _EXPORTS.get(name)
    if spec is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = (spec, name) if isinstance(spec, str) else spec
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    globals()[name] = value
    return value

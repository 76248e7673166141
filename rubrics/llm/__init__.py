"""LLM judge and model-under-test client for any OpenAI-compatible endpoint.

Entry points: ``judge_many`` / ``judge_many_sync`` (verdicts on responses, three
protocols: criterion, item, moore2025) and ``generate_many`` / ``generate_many_sync``
(replies of a model under test), with an on-disk cache, bounded concurrency and retries.
"""
from .cache import Cache, default_cache_dir, open_cache
from .endpoint import EndpointConfig, Price, redact
from .generate import GenerateTask, Generation, generate_many, generate_many_sync
from .judge import JudgeResult, JudgeTask, judge_many, judge_many_sync
from .protocols import PROTOCOLS, get_protocol
from .runner import RunStats
from .steering import FLAG as STEERING_FLAG, detect as detect_steering

__all__ = [
    "Cache", "default_cache_dir", "open_cache", "EndpointConfig", "Price", "redact",
    "GenerateTask", "Generation", "generate_many", "generate_many_sync",
    "JudgeResult", "JudgeTask", "judge_many", "judge_many_sync", "PROTOCOLS", "get_protocol",
    "RunStats", "STEERING_FLAG", "detect_steering",
]

"""Shared fixtures: where the study's reference data is, and one KB build per session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.checkout import use_this_checkout

use_this_checkout()

from tests.openai_server import make_server  # noqa: F401 (fixture: a real local OpenAI-compatible server)

REPO = Path(__file__).resolve().parents[1]


def anchor_dir() -> Path:
    return Path(os.environ.get("RUBRICATE_ANCHOR") or REPO.parent / "shared" / "anchor")


@pytest.fixture(scope="session")
def anchor() -> Path:
    d = anchor_dir()
    if not (d / "stimuli.json").exists():
        pytest.skip(f"reference data of Moore et al. 2025 not found at {d} (set RUBRICATE_ANCHOR)")
    return d


@pytest.fixture(scope="session")
def kb_build(tmp_path_factory):
    """The bundled knowledge base, built once (with an isolated parse cache)."""
    os.environ.setdefault("RUBRICATE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    from rubricate.ontology.kb import build
    return build(out=tmp_path_factory.mktemp("kb"))


SAMPLES = REPO / "rubrics" / "samples" / "default_responses.jsonl"


def many_responses(folder: Path, n: int, vary_text: bool = False) -> Path:
    """``n`` responses cycling through the bundled samples, each with its own id (and, with
    ``vary_text``, its own text, so no two requests to an LLM judge are identical)."""
    import json
    lines = SAMPLES.read_text().splitlines()
    path = folder / "many.jsonl"
    with path.open("w") as fh:
        for i in range(n):
            rec = json.loads(lines[i % len(lines)])
            rec["response_id"] = f"{rec['response_id']}-{i}"
            if vary_text:
                rec["response"] = f"{rec['response']} (variant {i})"
            fh.write(json.dumps(rec) + "\n")
    return path

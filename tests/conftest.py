"""Shared fixtures: where the study's reference data is, and one KB build per session."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.checkout import use_this_checkout

use_this_checkout()

# A shell without job control starts background commands with SIGINT ignored, and an ignored
# signal stays ignored across exec: every command a test starts would then shrug off the Ctrl-C
# the interrupt tests send. Restore the usual handler so children start with SIGINT live.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

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


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory) -> Path:
    """One cache folder (parse cache, LLM cache, validated rubrics) per test session, and per
    pytest-xdist worker, from the first test on: nothing a test runs writes a cache into the
    checkout, whatever order the tests run in. A test that studies caching sets its own."""
    os.environ.setdefault("RUBRICATE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    return Path(os.environ["RUBRICATE_CACHE_DIR"])


@pytest.fixture(scope="session")
def kb_build(isolated_cache, tmp_path_factory):
    """The bundled knowledge base, built once per session (per xdist worker)."""
    from rubricate.ontology.kb import build
    return build(out=tmp_path_factory.mktemp("kb"))


@pytest.fixture(scope="session")
def moore2025_import(anchor, kb_build, tmp_path_factory) -> Path:
    """The study's release imported once (``moore2025.json``, ``moore2025-stigma.json``,
    ``responses_dev.jsonl``) against the session's knowledge base, for tests that judge the
    imported responses rather than test the import. Read only: a test that writes copies it."""
    from tests.cli_run import run_cli
    out = tmp_path_factory.mktemp("moore2025") / "moore"
    res = run_cli("import", "moore2025", anchor, "--out", out, "--kb", kb_build.paths["turtle"])
    assert res.returncode == 0, res.stderr
    return out


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

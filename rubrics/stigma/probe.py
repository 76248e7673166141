"""Put the stigma instrument to a model: requests (chat messages) and output records.

Why: ``rubricate stigma probe`` asks a model every item of the stigma rubric (one vignette x
question each, rubrics/stigma/rubric.py) and writes one output record per reply in exactly
the shape ``rubricate stigma score`` reads (documented in rubrics/stigma/score.py), so
probing and scoring are two independent, resumable steps.

The output file is append-only: each reply is appended as one complete JSON line as soon as
it arrives; a re-run skips the (item, sample) pairs already in the file and sends only the
rest. Failed calls are not written (they are counted and retried by the next run).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rubricate.compiler.stigma import Instrument
from rubricate.rubrics.evaluation.respond import Request, run_requests, system_prompt_tag
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.stigma.rubric import StigmaRubric, from_instrument


ProbeRequest = Request  # one chat to send for a vignette x question x sample


def probe_requests(stigma: StigmaRubric | Instrument, system_prompt: str | None = None,
                   samples: int = 1) -> list[ProbeRequest]:
    """One request per stigma item x sample, in the rubric's item order (vignette x question).

    Messages: an optional system message, then the item's stimulus (its prompt: vignette,
    question, lettered options, "reply with one letter"). An ``Instrument`` is first
    compiled into its items (rubrics/stigma/rubric.py).
    """
    if samples < 1:
        raise RubricateError(f"samples must be >= 1, got {samples}")
    rubric = stigma if isinstance(stigma, StigmaRubric) else from_instrument(stigma)
    labels = {c.id: c.label for c in rubric.instrument.conditions}
    tag = system_prompt_tag(system_prompt)
    out = []
    for item in rubric.items:
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else [])
        messages += [dict(m) for m in item["stimulus"]["messages"]]
        q = item["question"]
        base = {**item["vignette"]["attributes"], "instrument": item["instrument"], "item_id": item["id"],
                "vignette_id": item["vignette"]["id"], "condition": labels[item["condition"]],
                "question_id": q["id"], "question": q["text"],
                "options": [o["text"] for o in item["options"]], "system_prompt": tag}
        for s in range(samples):
            out.append(ProbeRequest(item["id"], s, messages, {**base, "sample": s}))
    return out


def output_record(request: ProbeRequest, model: str, output: str | None,
                  **extra: Any) -> dict[str, Any]:
    """The JSONL record for one reply (what ``rubricate stigma score`` reads)."""
    return {"model": model, **request.record, "output": output, **extra}


def run_probe(instrument: StigmaRubric | Instrument, endpoint: Any, out: str | Path,
              system_prompt: str | None = None, samples: int = 1, cache: Any = None,
              progress: bool = True) -> dict[str, Any]:
    """Ask the model every pending request, appending records to ``out``; return counts.

    ``endpoint`` is a rubrics.llm.EndpointConfig; ``cache`` a rubrics.llm Cache or None.
    """
    requests = probe_requests(instrument, system_prompt, samples)
    return run_requests(requests, endpoint, out, "output", samples=samples, cache=cache, progress=progress)

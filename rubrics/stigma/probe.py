"""Put the stigma instrument to a model: requests (chat messages) and output records.

Why: ``rubricate stigma probe`` asks a model every vignette x question and writes one
output record per reply in exactly the shape ``rubricate stigma score`` reads (documented in
rubrics/stigma.py), so probing and scoring are two independent, resumable steps.

The output file is append-only: each reply is appended as one complete JSON line as soon as
it arrives; a re-run skips the (item, sample) pairs already in the file and sends only the
rest. Failed calls are not written (they are counted and retried by the next run).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rubricate.compiler.stigma import Instrument, item_id, render_prompt
from rubricate.rubrics.evaluation.respond import Request, run_requests, system_prompt_tag
from rubricate.guidelines.kernel.errors import RubricateError


ProbeRequest = Request  # one chat to send for a vignette x question x sample


def probe_requests(instrument: Instrument, system_prompt: str | None = None,
                   samples: int = 1) -> list[ProbeRequest]:
    """One request per vignette x question x sample, in instrument order.

    Messages: an optional system message, then the user prompt (vignette, question,
    lettered options, "reply with one letter"; compiler.stigma.render_prompt).
    """
    if samples < 1:
        raise RubricateError(f"samples must be >= 1, got {samples}")
    conditions = {c.id: c for c in instrument.conditions}
    tag = system_prompt_tag(system_prompt)
    out = []
    for v in instrument.vignettes:
        for q in instrument.questions:
            messages = ([{"role": "system", "content": system_prompt}] if system_prompt else [])
            messages.append({"role": "user", "content": render_prompt(instrument, v, q)})
            base = {**v.attributes, "instrument": instrument.id, "item_id": item_id(v, q),
                    "vignette_id": v.id, "condition": conditions[v.condition].label,
                    "question_id": q.id, "question": q.text, "options": list(q.options),
                    "system_prompt": tag}
            for s in range(samples):
                out.append(ProbeRequest(item_id(v, q), s, messages, {**base, "sample": s}))
    return out


def output_record(request: ProbeRequest, model: str, output: str | None,
                  **extra: Any) -> dict[str, Any]:
    """The JSONL record for one reply (what ``rubricate stigma score`` reads)."""
    return {"model": model, **request.record, "output": output, **extra}


def run_probe(instrument: Instrument, endpoint: Any, out: str | Path,
              system_prompt: str | None = None, samples: int = 1, cache: Any = None,
              progress: bool = True) -> dict[str, Any]:
    """Ask the model every pending request, appending records to ``out``; return counts.

    ``endpoint`` is a rubrics.llm.EndpointConfig; ``cache`` a rubrics.llm Cache or None.
    """
    requests = probe_requests(instrument, system_prompt, samples)
    return run_requests(requests, endpoint, out, "output", samples=samples, cache=cache, progress=progress)

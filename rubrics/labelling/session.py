"""What a labelling session shows and saves: a run's units (response x criterion) in order,
each joined with its criterion, stimulus, response text and cited passages; labels appended
to the session's log as they are given.

Why a queue of units fixed at start: every labeller sees the same units in the same order, so
their labels overlap (people's agreement with each other is the calibration's ceiling), and a
labeller who comes back resumes at their first unit without a label. The judge's own answer is
never shown: labels are blind to it.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from rubricate.guidelines.kernel.errors import InputError
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.evaluation.labels import (LABEL_LOG, SKIP, ANSWERS, append_labels, label_record,
                                                 labelled_by, labellers)
from rubricate.rubrics.evaluation.responses import Response, read_responses
from rubricate.rubrics.evaluation.results import ResultsDir, iter_jsonl
from rubricate.rubrics.evaluation.run_inputs import locate

CHOICES = (*ANSWERS, SKIP)


@dataclass(frozen=True)
class Unit:
    """One thing to label: a criterion's question about one response."""

    index: int
    response_id: str
    criterion_id: str
    item_id: str
    response_line: int


@dataclass
class LabelSession:
    results_dir: Path
    log: Path
    rubric: Rubric
    units: list[Unit]
    responses: dict[str, Response]
    run_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def unit(self, index: int) -> Unit:
        return self.units[index]

    def find(self, response_id: str, criterion_id: str) -> Unit | None:
        return next((u for u in self.units if (u.response_id, u.criterion_id) == (response_id, criterion_id)), None)

    def progress(self, labeller: str) -> tuple[dict[tuple[str, str], str], Unit | None]:
        """The labeller's labels so far and the first unit they have not labelled (None: done)."""
        done = labelled_by(self.log, labeller)
        nxt = next((u for u in self.units if (u.response_id, u.criterion_id) not in done), None)
        return done, nxt

    def save(self, labeller: str, unit: Unit, label: str) -> dict:
        """Append one label (fsynced before the page moves on)."""
        rec = label_record(unit.response_id, unit.criterion_id, label, labeller, item_id=unit.item_id,
                           rubric_id=self.rubric.id, run_id=self.run_id)
        append_labels(self.log, [rec])
        return rec

    def labellers(self) -> dict[str, int]:
        return labellers(self.log)

    def view(self, unit: Unit) -> dict:
        """Everything the page shows for a unit (plain data for the template)."""
        c = self.rubric.criteria.get(unit.criterion_id) or {}
        item = self.rubric.items.get(unit.item_id) or {}
        r = self.responses.get(unit.response_id)
        return {"unit": unit, "criterion": c, "item": item, "principle": self.rubric.principle(item.get("principle", "")),
                "messages": (item.get("stimulus") or {}).get("messages") or [],
                "response": r.text if r else None, "model": r.model if r else None,
                "citations": c.get("citations") or []}


def open_session(results_dir: Path, log: Path | None = None, rubric: Path | str | None = None,
                 responses: Path | str | None = None, sample: int | None = None, seed: int = 0) -> LabelSession:
    """The units of a run (optionally a seeded sample of ``sample`` responses), with their texts."""
    results = ResultsDir(Path(results_dir))
    if not results.verdicts.is_file():
        raise InputError("not a results folder (no verdicts.jsonl); run `rubricate evaluate` first",
                         path=str(results_dir))
    manifest = json.loads(results.manifest.read_text(encoding="utf-8")) if results.manifest.is_file() else {}
    rsrc = locate("rubric", manifest.get("rubric_path"), manifest.get("rubric_sha256"), results.path, rubric)
    if rsrc.path is None:
        raise InputError("the run's rubric file was not found (pass --rubric)", path=str(results.manifest))
    loaded = load_rubric(rsrc.path, validate=False)  # as the report: the run already used it
    notes = [m for m in [rsrc.warning("", "criteria are shown from the current file")] if m]
    order = {cid: i for i, cid in enumerate(loaded.criteria)}
    seen: dict[tuple[str, str], tuple] = {}
    for v in iter_jsonl(results.verdicts):
        key = (v["response_id"], v["criterion_id"])
        if key not in seen and v["criterion_id"] in loaded.criteria:
            seen[key] = (int(v.get("response_line") or 0), order[v["criterion_id"]], v["item_id"])
    if not seen:
        raise InputError("no verdicts for this rubric's criteria to label", path=str(results.verdicts))
    first: dict[str, int] = {}
    for (rid, _), s in seen.items():
        first[rid] = min(first.get(rid, s[0]), s[0])
    rids = sorted(first, key=lambda rid: (first[rid], rid))
    if sample is not None and sample < len(rids):
        chosen = set(random.Random(seed).sample(rids, sample))
        seen = {k: s for k, s in seen.items() if k[0] in chosen}
    keys = sorted(seen, key=lambda k: (seen[k][0], k[0], seen[k][1]))
    units = [Unit(i, rid, cid, seen[(rid, cid)][2], seen[(rid, cid)][0]) for i, (rid, cid) in enumerate(keys)]
    psrc = locate("responses", manifest.get("responses_path"), manifest.get("responses_sha256"), results.path,
                  responses)
    if psrc.path is None:
        raise InputError("the run's responses file was not found (pass --responses)", path=str(results.manifest))
    msg = psrc.warning("", "response texts are read from the current file and may not be the ones judged")
    if msg:
        notes.append(msg)
    wanted = {u.response_id for u in units}
    texts = {rec.response_id: rec for rec in read_responses(psrc.path, None, loaded.aliases)
             if isinstance(rec, Response) and rec.response_id in wanted}
    return LabelSession(results.path, Path(log) if log else results.path / LABEL_LOG, loaded, units, texts,
                        run_id=manifest.get("run_id"), notes=notes)

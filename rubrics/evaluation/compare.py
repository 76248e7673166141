"""Compare two evaluation runs of one rubric: rates, paired differences, exact tests, a gate.

``rubricate compare BASE NEW`` answers "did this change make the model worse, and where?".
Criterion rates compare verdicts (response x criterion); item, condition and principle rates
compare responses, each scored by the rubric's own rule (decisive criteria decide). Where both
runs judged the same responses (same response ids) the comparison is paired (exact McNemar on
the verdicts that flipped); otherwise the two runs are independent samples (exact permutation
test). p-values are adjusted across the tests of one level (Holm by default). A verdict whose
repeated judging disagreed with itself (``unstable``) is counted as unstable in either run,
never as a flip.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.paired_tests import (
    adjust, mcnemar_exact, paired_bootstrap_ci, permutation_exact, unpaired_bootstrap_ci)
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.contract.scoring import DECISIVE, score_item
from rubricate.rubrics.evaluation.results import ResultsDir, iter_jsonl
from rubricate.rubrics.evaluation.run_inputs import locate

LEVELS = ("criterion", "item", "condition", "principle")


@dataclass
class RunData:
    """What a comparison needs of one results folder (verdicts kept slim)."""

    path: Path
    manifest: dict
    judges: set[str]
    # (judge, response_id, criterion_id) -> (appropriate, answer, unstable)
    verdicts: dict[tuple[str, str, str], tuple[bool | None, str, bool]]
    response_fields: dict[str, tuple[str, str, str, str]]  # response_id -> (item, condition, principle, model)
    failing: dict[str, list[dict]]  # criterion_id -> up to a few failing verdicts (for the report)


@dataclass
class Row:
    """One compared group (a criterion, item, condition or principle)."""

    level: str
    key: str
    label: str
    paired: bool
    n_base: int
    n_new: int
    rate_base: float | None
    rate_new: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p: float
    p_adjusted: float = 1.0
    flips_bad: int = 0        # paired: appropriate in BASE, inappropriate in NEW
    flips_good: int = 0       # paired: the other way round
    unstable: int = 0         # units left out because repeated judging disagreed
    uncertain: int = 0        # criterion verdicts left out because the offline judge abstained (either run)
    decisive: bool = True
    condition: str | None = None
    significant: bool = False
    regression: bool = False  # significant and the drop passes --max-drop
    failing: list[dict] = field(default_factory=list)


@dataclass
class Comparison:
    base: str
    new: str
    rubric_id: str
    judge_base: str
    judge_new: str
    correction: str
    alpha: float
    max_drop: float
    gate_levels: tuple[str, ...]
    decisive_only: bool
    rows: list[Row]
    notes: list[str]
    rubric: Rubric | None = field(default=None, repr=False, compare=False)

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.regression and r.level in self.gate_levels
                and (r.decisive or not self.decisive_only)]

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("rows", "rubric")}
        d["rows"] = [asdict(r) for r in self.rows]
        d["regressions"] = [f"{r.level}:{r.key}" for r in self.regressions]
        return d


def load_run(path: Path | str, judge: str | None = None, keep_failing: int = 3) -> RunData:
    """Read a results folder's manifest and verdicts (one judge: the only one, or ``judge``)."""
    rd = ResultsDir(Path(path))
    if not rd.manifest.is_file():
        raise RubricateError("not a results folder (no run.json)", path=str(rd.path))
    if not rd.verdicts.is_file():
        raise RubricateError("results folder has no verdicts.jsonl", path=str(rd.path))
    try:
        manifest = json.loads(rd.manifest.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RubricateError(f"run.json is not valid JSON ({exc})", path=str(rd.manifest)) from None
    verdicts: dict = {}
    fields: dict = {}
    failing: dict[str, list[dict]] = defaultdict(list)
    judges: set[str] = set()
    for v in iter_jsonl(rd.verdicts):
        j = v.get("judge", "")
        judges.add(j)
        if judge and j != judge:
            continue
        unstable = bool(v.get("unstable"))
        verdicts[(j, v["response_id"], v["criterion_id"])] = (v.get("appropriate"), v.get("answer"), unstable)
        fields[v["response_id"]] = (v["item_id"], v.get("condition") or "-", v.get("principle") or "-",
                                    v.get("model") or "-")
        if v.get("appropriate") is False and len(failing[v["criterion_id"]]) < keep_failing:
            failing[v["criterion_id"]].append({k: v.get(k) for k in (
                "verdict_id", "response_id", "model", "answer", "reason", "evidence", "citations")})
    if judge and judge not in judges:
        raise RubricateError(f"no verdicts of judge {judge!r} (judges here: {', '.join(sorted(judges)) or 'none'})",
                             path=str(rd.verdicts))
    return RunData(rd.path, manifest, judges if not judge else {judge}, verdicts, fields, dict(failing))


def _only_judge(run: RunData, name: str) -> str:
    if len(run.judges) != 1:
        raise RubricateError(f"{name} run has verdicts of several judges ({', '.join(sorted(run.judges))}); "
                             "choose one with --judge", path=str(run.path))
    return next(iter(run.judges))


def _rubric_for(run: RunData, override: Path | None) -> Rubric:
    m = run.manifest
    src = locate("rubric", m.get("rubric_path"), m.get("rubric_sha256"), run.path, override)
    if src.path is None:
        raise RubricateError("cannot find the rubric this run used (pass --rubric)", path=str(run.path / "run.json"))
    return load_rubric(src.path)


def _units_by_criterion(run: RunData, judge: str) -> dict[str, dict[str, tuple[bool | None, bool]]]:
    out: dict[str, dict[str, tuple[bool | None, bool]]] = defaultdict(dict)
    for (j, rid, cid), (appropriate, _answer, unstable) in run.verdicts.items():
        if j == judge:
            out[cid][rid] = (appropriate, unstable)
    return out


def _uncertain(run: RunData, judge: str) -> dict[str, int]:
    """Criterion id -> verdicts the offline judge abstained on (answer uncertain)."""
    out: dict[str, int] = defaultdict(int)
    for (j, _rid, cid), (_a, answer, _u) in run.verdicts.items():
        if j == judge and answer == "uncertain":
            out[cid] += 1
    return out


def _units_by_response(run: RunData, judge: str, rubric: Rubric) -> dict[str, tuple[bool | None, bool]]:
    """Each response's item-level verdict under the rubric's scoring rule."""
    answers: dict[str, dict[str, str]] = defaultdict(dict)
    unstable: dict[str, bool] = defaultdict(bool)
    for (j, rid, cid), (_appropriate, answer, uns) in run.verdicts.items():
        if j == judge:
            answers[rid][cid] = answer
            unstable[rid] |= uns
    out = {}
    for rid, ans in answers.items():
        item = rubric.items.get(run.response_fields[rid][0])
        if item is None:
            continue
        out[rid] = (score_item(item.get("criteria", []), ans).appropriate, unstable[rid])
    return out


def _compare_units(level: str, key: str, label: str, base: dict[str, tuple[bool | None, bool]],
                   new: dict[str, tuple[bool | None, bool]], seed: int) -> Row:
    paired = bool(base) and set(base) == set(new)
    unstable = sum(1 for u in base.values() if u[1]) + sum(1 for u in new.values() if u[1])
    if paired:
        pairs = [(base[r][0], new[r][0]) for r in sorted(base)
                 if not base[r][1] and not new[r][1] and base[r][0] is not None and new[r][0] is not None]
        b_vals = [p[0] for p in pairs]
        n_vals = [p[1] for p in pairs]
        bad = sum(1 for x, y in pairs if x and not y)
        good = sum(1 for x, y in pairs if not x and y)
        p = mcnemar_exact(bad, good)
        ci = paired_bootstrap_ci(b_vals, n_vals, seed=seed)
    else:
        b_vals = [a for a, uns in base.values() if a is not None and not uns]
        n_vals = [a for a, uns in new.values() if a is not None and not uns]
        bad = good = 0
        p = permutation_exact(sum(n_vals), len(n_vals), sum(b_vals), len(b_vals))
        ci = unpaired_bootstrap_ci(b_vals, n_vals, seed=seed)
    rb = sum(b_vals) / len(b_vals) if b_vals else None
    rn = sum(n_vals) / len(n_vals) if n_vals else None
    diff = rn - rb if rb is not None and rn is not None else None
    return Row(level, key, label, paired, len(b_vals), len(n_vals), rb, rn, diff,
               None if diff is None else ci[0], None if diff is None else ci[1], p,
               flips_bad=bad, flips_good=good, unstable=unstable)


def _group(units: dict[str, tuple[bool | None, bool]], run: RunData, index: int) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(dict)
    for rid, u in units.items():
        out[run.response_fields[rid][index]][rid] = u
    return out


def compare_runs(base_path: Path | str, new_path: Path | str, *, judge: str | None = None,
                 allow_different_judges: bool = False, rubric_path: Path | None = None,
                 correction: str = "holm", alpha: float = 0.05, max_drop: float = 0.05,
                 gate_levels: Iterable[str] = ("criterion",), decisive_only: bool = False,
                 seed: int = 0) -> Comparison:
    """Compare NEW against BASE; see the module docstring for the statistics."""
    gate_levels = tuple(gate_levels)
    for lv in gate_levels:
        if lv not in LEVELS:
            raise RubricateError(f"unknown gate level {lv!r} (choose from {', '.join(LEVELS)})")
    if not 0 < alpha < 1:
        raise RubricateError(f"--alpha must be between 0 and 1, got {alpha}")
    if not 0 <= max_drop <= 1:
        raise RubricateError(f"--max-drop must be between 0 and 1, got {max_drop}")
    base, new = load_run(base_path, judge), load_run(new_path, judge)
    rid_b, rid_n = base.manifest.get("rubric_id"), new.manifest.get("rubric_id")
    if rid_b != rid_n:
        raise RubricateError(f"runs of different rubrics cannot be compared ({rid_b!r} vs {rid_n!r})")
    jb, jn = _only_judge(base, "BASE"), _only_judge(new, "NEW")
    bv, nv = base.manifest.get("judge_version"), new.manifest.get("judge_version")
    if (jb != jn or (bv and nv and bv != nv)) and not allow_different_judges:
        raise RubricateError(f"the runs were judged differently ({jb} {bv or ''} vs {jn} {nv or ''}); "
                             "a difference could be the judge's: pass --allow-different-judges to compare anyway")
    rubric = _rubric_for(new, rubric_path)
    notes: list[str] = []
    if base.manifest.get("rubric_sha256") and base.manifest.get("rubric_sha256") != new.manifest.get("rubric_sha256"):
        notes.append("the two runs used different versions of the rubric file (same rubric id)")
    rows: list[Row] = []
    crit_b, crit_n = _units_by_criterion(base, jb), _units_by_criterion(new, jn)
    unsure_b, unsure_n = _uncertain(base, jb), _uncertain(new, jn)
    for i, cid in enumerate(sorted(set(crit_b) | set(crit_n))):
        c = rubric.criteria.get(cid, {})
        row = _compare_units("criterion", cid, c.get("question") or cid, crit_b.get(cid, {}), crit_n.get(cid, {}),
                             seed + i)
        row.decisive = c.get("severity", "major") in DECISIVE
        row.condition = (rubric.items.get(rubric.criterion_item.get(cid, "")) or {}).get("condition")
        row.failing = new.failing.get(cid, [])
        row.uncertain = unsure_b.get(cid, 0) + unsure_n.get(cid, 0)
        rows.append(row)
    resp_b, resp_n = _units_by_response(base, jb, rubric), _units_by_response(new, jn, rubric)
    for level, index in (("item", 0), ("condition", 1), ("principle", 2)):
        gb, gn = _group(resp_b, base, index), _group(resp_n, new, index)
        for i, key in enumerate(sorted(set(gb) | set(gn))):
            label = (rubric.items.get(key) or {}).get("title") or key if level == "item" else key
            row = _compare_units(level, key, label, gb.get(key, {}), gn.get(key, {}), seed + 1000 + i)
            if level == "condition":
                row.condition = key
            rows.append(row)
    for level in LEVELS:
        family = [r for r in rows if r.level == level]
        for r, p_adj in zip(family, adjust([r.p for r in family], correction)):
            r.p_adjusted = p_adj
            r.significant = p_adj < alpha
            r.regression = r.significant and r.diff is not None and -r.diff >= max_drop
    if any(r.paired for r in rows) and not all(r.paired for r in rows if r.n_base or r.n_new):
        notes.append("some groups were paired (same responses) and others not")
    n_unstable = sum(r.unstable for r in rows if r.level == "criterion")
    if n_unstable:
        notes.append(f"{n_unstable} verdicts were unstable under repeated judging and left out of the tests")
    n_uncertain = sum(r.uncertain for r in rows if r.level == "criterion")
    if n_uncertain:
        notes.append(f"{n_uncertain} verdicts were uncertain (the offline judge abstained) and left out of the tests, "
                     "never counted as yes or no; judge them with --judge cascade to decide them")
    return Comparison(str(base.path), str(new.path), rid_n, jb, jn, correction, alpha, max_drop, gate_levels,
                      decisive_only, rows, notes, rubric)


def gate_line(cmp: Comparison) -> str:
    """The one summary line the gate prints (why it fails or passes)."""
    regs = cmp.regressions
    scope = "/".join(cmp.gate_levels) + (" (decisive criteria only)" if cmp.decisive_only else "")
    if not regs:
        return (f"no significant regression at {scope} level (alpha {cmp.alpha}, {cmp.correction}-adjusted, "
                f"drop >= {cmp.max_drop:.0%})")
    worst = sorted(regs, key=lambda r: (r.diff or 0))
    named = ", ".join(f"{r.level} {r.key} {r.rate_base:.0%}->{r.rate_new:.0%} (p_adj={r.p_adjusted:.2g})"
                      for r in worst[:5])
    more = f" and {len(regs) - 5} more" if len(regs) > 5 else ""
    return f"regression: {len(regs)} significant drop(s) at {scope} level: {named}{more}"

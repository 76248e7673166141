"""The offline judge (rubrics/checks) as an evaluator judge, in one process or several.

Matchers are compiled once per rubric (per worker process), and each response text goes
through spaCy once however many criteria its item has.
"""
from __future__ import annotations

from typing import Any

from rubricate.guidelines.kernel.workers import make_pool, stop
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.evaluation.judges import BATCH, JudgeBase, Outcome, Task


def _group_by_response(pairs: list[tuple[str, str, str]]) -> tuple[list[str], list[list[str]], list[tuple[int, int]]]:
    """(response id, text, criterion id) -> unique texts, their criterion ids, and where each pair's answer is."""
    index: dict[str, int] = {}
    texts: list[str] = []
    ids: list[list[str]] = []
    where = []
    for rid, text, cid in pairs:
        if rid not in index:
            index[rid] = len(texts)
            texts.append(text)
            ids.append([])
        where.append((index[rid], len(ids[index[rid]])))
        ids[index[rid]].append(cid)
    return texts, ids, where


def _run_engine(engine, pairs: list[tuple[str, str, str]]) -> list[dict]:
    """Outcome fields per (response, criterion) pair: the decision ("uncertain" when the judge
    abstains, its reading kept in rules_answer) and the confidence."""
    texts, ids, where = _group_by_response(pairs)
    results = engine.evaluate(texts, ids, batch_size=BATCH)
    return [{"answer": r.decision, "reason": r.reason, "judge_version": engine.version,
             "evidence": [e.to_dict() for e in r.evidence], "confidence": r.confidence,
             "rules_answer": r.answer if r.uncertain else None,
             "cause": "offline judge uncertain" if r.uncertain else None}
            for r in (results[i][j] for i, j in where)]


def _pairs(tasks: list[Task]) -> list[tuple[str, str, str]]:
    return [(t.response.response_id, t.response.text, t.criterion["id"]) for t in tasks]


class RulesJudge(JudgeBase):
    """The offline judge: matchers compiled once per rubric, one nlp.pipe pass per batch."""

    name = "rules"

    def __init__(self, rubric: Rubric) -> None:
        from rubricate.rubrics.checks.engine import compile_checks  # start-up time: spaCy only for the offline judge
        self.engine = compile_checks(list(rubric.criteria.values()), schema_valid=rubric.schema_valid)
        self.version = self.engine.version

    def __call__(self, tasks: list[Task]) -> list[Outcome]:
        return [Outcome(**o) for o in _run_engine(self.engine, _pairs(tasks))]


_WORKER_ENGINE = None


def _init_worker(rubric_path: str, schema_valid: bool = False) -> None:
    global _WORKER_ENGINE
    from rubricate.rubrics.checks.engine import compile_checks  # start-up time: spaCy only for the offline judge
    _WORKER_ENGINE = compile_checks(list(load_rubric(rubric_path, validate=False).criteria.values()),
                                    schema_valid=schema_valid)


def _work(chunk: list[tuple[str, str, str]]) -> list[dict]:
    return _run_engine(_WORKER_ENGINE, chunk)


class ParallelRulesJudge(JudgeBase):
    """The offline judge in ``workers`` processes, each compiling the rubric once.

    Verdicts are still written by the parent, in input order, so results are the same as
    with one process.
    """

    name = "rules"

    def __init__(self, rubric: Rubric, workers: int) -> None:
        # start-up time: spaCy only for the offline judge
        from rubricate.rubrics.checks.engine import OFFLINE_JUDGE_VERSION
        self.workers = workers
        self.version = OFFLINE_JUDGE_VERSION
        self.pool = make_pool(workers, _init_worker, (str(rubric.path), rubric.schema_valid))

    def __call__(self, tasks: list[Task]) -> list[Outcome]:
        pairs = _pairs(tasks)  # a response's criteria stay together: tasks come grouped by response
        size = max(1, -(-len(pairs) // self.workers))
        chunks = [pairs[i:i + size] for i in range(0, len(pairs), size)]
        out: list[Outcome] = []
        for part in self.pool.map(_work, chunks):
            out += [Outcome(**o) for o in part]
        return out

    def close(self) -> None:
        self.pool.shutdown()

    def abort(self) -> None:
        """After Ctrl-C: cancel queued work and stop the workers (none is left behind)."""
        stop(self.pool)


def rules_judge(rubric: Rubric) -> RulesJudge:
    return RulesJudge(rubric)


def parallel_rules_judge(rubric: Rubric, workers: int) -> ParallelRulesJudge:
    return ParallelRulesJudge(rubric, workers)


def make_rules_judge(rubric: Rubric, *, workers: int = 1, **_: Any) -> JudgeBase:
    """Registry factory: ``workers`` > 1 runs the offline judge in that many processes."""
    return ParallelRulesJudge(rubric, workers) if workers > 1 else RulesJudge(rubric)

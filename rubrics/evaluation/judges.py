"""What a judge is to the evaluator, the ensemble that combines judges, and the judge registry.

Why a protocol: the evaluator streams tasks to a judge in batches, resumes, writes the
verdicts and closes the judge at the end; it needs a judge's name, version, preferred batch
size and a way to release what it holds (worker processes, a cache), and nothing else. Any
object with these members is a judge: the offline rules (rules_judge.py), the LLM judge
(llm_judge.py), a plug-in. ``Ensemble`` combines judges into one panel: each member judges
every task and answers that differ are flagged ``disagreement``.

``JUDGES`` maps a name (``rubricate evaluate --judge NAME``) to a factory
``(rubric, **options) -> Judge``; options are the CLI's (``workers`` and the LLM endpoint
options), and a factory takes the ones it needs and ignores the rest. Adding a judge is a
module with its factory plus one ``JUDGES.add`` line below, or an entry point in the group
``rubricate.judges`` of a separate package.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, runtime_checkable

from rubricate.guidelines.kernel.errors import ConfigurationError
from rubricate.guidelines.kernel.plugins import Registry, callables
from rubricate.rubrics.evaluation.responses import REFUSAL_FLAG

if TYPE_CHECKING:
    from rubricate.rubrics.contract.loader import Rubric
    from rubricate.rubrics.evaluation.responses import Response

BATCH = 512  # responses per batch unless a judge asks for fewer


@dataclass
class Task:
    """One response x criterion to judge, with the item the criterion belongs to."""

    response: Response
    item: dict
    criterion: dict


@dataclass
class Outcome:
    """A judge's answer to one task (the evaluator turns it into a verdict record)."""

    answer: str  # yes | no | unknown | refused | uncertain (the offline judge abstained)
    reason: str
    judge_version: str
    evidence: list[dict] = field(default_factory=list)
    protocol: str | None = None
    usage: dict | None = None
    flags: list[str] = field(default_factory=list)
    repeats: list[str] | None = None  # every answer when the judge was asked several times
    failed: bool = False  # no answer because the judge could not be asked (kept apart, re-asked on --resume)
    cause: str | None = None  # why it failed or is unknown, the same for every call that hit it
    confidence: float | None = None  # the offline judge's confidence in its reading (rubrics/checks/confidence.py)
    rules_answer: str | None = None  # the offline reading when the verdict is uncertain or another judge decided
    decided_by: str | None = None  # cascade: which judge's answer stands (rules | llm)
    routed: str | None = None  # cascade: why the LLM judge was asked (uncertain | audit)


@runtime_checkable
class Judge(Protocol):
    """A batch of tasks -> one Outcome per task, in order."""

    name: str         # the verdicts' "judge" field
    version: str      # what a verdict's judge_version starts from
    batch_size: int   # most responses per batch it wants (the LLM judge: fewer, sooner on disk)

    def __call__(self, tasks: list[Task]) -> list[Outcome]: ...

    def close(self) -> None: ...

    def __enter__(self) -> "Judge": ...

    def __exit__(self, *exc: object) -> None: ...


class JudgeBase:
    """Defaults for a judge: nothing to close, usable as a context manager."""

    name: str = ""
    version: str = ""
    batch_size: int = BATCH

    def __call__(self, tasks: list[Task]) -> list[Outcome]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass

    def abort(self) -> None:
        """Release at once after an interrupt or error (default: as ``close``)."""
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        (self.abort if exc_type is not None else self.close)()


class FunctionJudge(JudgeBase):
    """A plain function ``tasks -> outcomes`` as a judge (scripted judges in tests, quick
    experiments)."""

    def __init__(self, name: str, fn: Callable[[list[Task]], list[Outcome]], version: str = "",
                 batch_size: int = BATCH) -> None:
        self.name, self.fn, self.version, self.batch_size = name, fn, version, batch_size

    def __call__(self, tasks: list[Task]) -> list[Outcome]:
        return self.fn(tasks)


class Ensemble:
    """Judges combined: every member judges every task; differing answers are flagged.

    The evaluator writes each member's verdicts under the member's name; the ensemble's own
    name (``llm+rules``) labels the run. Closing it closes every member.
    """

    def __init__(self, judges: Iterable[Judge] | Mapping[str, Judge]) -> None:
        pairs = list(judges.items()) if isinstance(judges, Mapping) else [(j.name, j) for j in judges]
        if not pairs:
            raise ConfigurationError("an ensemble needs at least one judge")
        self.members: dict[str, Judge] = {}
        for name, judge in pairs:
            if name in self.members:
                raise ConfigurationError(f"two judges named {name!r} in one ensemble")
            self.members[name] = judge if isinstance(judge, Judge) else FunctionJudge(name, judge)
        self.name = "+".join(sorted(self.members))
        self.version = "+".join(self.members[n].version for n in sorted(self.members))
        self.batch_size = min(j.batch_size for j in self.members.values())

    @classmethod
    def of(cls, judges: "Judge | Ensemble | Mapping[str, Judge]") -> "Ensemble":
        """A panel for the evaluator: an ensemble as it is, one judge as a panel of one."""
        if isinstance(judges, Ensemble):
            return judges
        return cls(judges if isinstance(judges, Mapping) else [judges])

    def judge_each(self, tasks: list[Task],
                   pending: Callable[[str, Task], bool]) -> dict[str, dict[int, Outcome]]:
        """Member name -> task index -> outcome, for the tasks ``pending(name, task)`` keeps
        (a resumed run skips verdicts already written)."""
        outcomes: dict[str, dict[int, Outcome]] = {}
        for name, judge in self.members.items():
            todo = [i for i, t in enumerate(tasks) if pending(name, t)]
            # a response the model under test refused is not judged: it gets the state "refused"
            refused = [i for i in todo if REFUSAL_FLAG in tasks[i].response.flags]
            todo = [i for i in todo if REFUSAL_FLAG not in tasks[i].response.flags]
            if refused:
                outcomes[name] = {i: refusal_outcome(tasks[i]) for i in refused}
            if todo:
                outcomes.setdefault(name, {}).update(zip(todo, judge([tasks[i] for i in todo])))
        if len(self.members) > 1:
            _flag_disagreements(len(tasks), outcomes)
        return outcomes

    def close(self) -> None:
        for judge in self.members.values():
            judge.close()

    def abort(self) -> None:
        for judge in self.members.values():
            getattr(judge, "abort", judge.close)()

    def __enter__(self) -> "Ensemble":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        (self.abort if exc_type is not None else self.close)()


class Repeated(JudgeBase):
    """One judge asked N times per task (``evaluate --repeats N``): the majority answer stands,
    every answer is kept, and a task whose answers differ is flagged ``unstable``.

    Each member is the same judge built with its own seed (seed + k), so a sampled judge gives
    independent answers and the request cache keeps each repeat apart (the seed is part of the
    cache key). A tie between yes and no is ``unknown``: no verdict is claimed.
    """

    def __init__(self, members: list[Judge]) -> None:
        if len(members) < 2:
            raise ConfigurationError("repeated judging needs at least 2 repeats")
        self.members = members
        first = members[0]
        self.name = first.name
        self.version = f"{first.version}+repeats{len(members)}"
        self.batch_size = min(m.batch_size for m in members)

    def __call__(self, tasks: list[Task]) -> list[Outcome]:
        runs = [member(tasks) for member in self.members]
        return [self._combine([run[i] for run in runs]) for i in range(len(tasks))]

    def _combine(self, outs: list[Outcome]) -> Outcome:
        answers = [o.answer for o in outs]
        yes, no = answers.count("yes"), answers.count("no")
        majority = "yes" if yes > no else "no" if no > yes else "unknown"
        base = next((o for o in outs if o.answer == majority), outs[0])
        usage: dict = {}
        for o in outs:
            for k, v in (o.usage or {}).items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    usage[k] = usage.get(k, 0) + v
        unstable = len(set(answers)) > 1
        flags = sorted(set(base.flags) | ({"unstable"} if unstable else set()))
        reason = base.reason if not unstable else f"{base.reason} [answers over {len(outs)} repeats: {', '.join(answers)}]"
        return Outcome(majority, reason, f"{base.judge_version}+repeats{len(outs)}", base.evidence, base.protocol,
                       usage or None, flags, repeats=answers,
                       failed=all(o.failed for o in outs), cause=base.cause)

    def bind_results(self, folder) -> None:
        for member in self.members:
            if hasattr(member, "bind_results"):
                member.bind_results(folder)

    def describe(self) -> dict:
        first = self.members[0]
        return first.describe() if hasattr(first, "describe") else {}

    def close(self) -> None:
        for member in self.members:
            member.close()


def refusal_outcome(t: Task) -> Outcome:
    """The model under test refused: a verdict state of its own, counted per model."""
    return Outcome("refused", f"the model under test refused: {t.response.text[:300]}", "refusal",
                   flags=[REFUSAL_FLAG])


def _flag_disagreements(n_tasks: int, outcomes: dict[str, dict[int, Outcome]]) -> None:
    names = list(outcomes)
    if len(names) < 2:
        return
    for i in range(n_tasks):
        answers = {n: outcomes[n][i].answer for n in names if i in outcomes[n] and not outcomes[n][i].failed}
        if len(set(answers.values())) > 1:
            for n in answers:
                outcomes[n][i].flags.append("disagreement")


# -- registry -----------------------------------------------------------------------------------
JudgeFactory = Callable[..., Judge]


JUDGES: Registry[JudgeFactory] = Registry("judge", "rubricate.judges", callables(
    "judge", "factory (rubric, **options) -> Judge"))
JUDGES.add("rules", "rubricate.rubrics.evaluation.rules_judge:make_rules_judge")
JUDGES.add("llm", "rubricate.rubrics.evaluation.llm_judge:make_llm_judge")
JUDGES.add("ensemble", "rubricate.rubrics.evaluation.judges:make_ensemble")
JUDGES.add("cascade", "rubricate.rubrics.evaluation.cascade:make_cascade_judge")


def make_judge(name: str, rubric: "Rubric", repeats: int = 1, **options: Any) -> Judge | Ensemble:
    """The judge registered as ``name`` for ``rubric``; ``options`` as the CLI gives them.
    ``repeats`` > 1 asks the judge that many times per task (``Repeated``), each with its own seed."""
    if repeats > 1:
        if name == "cascade":
            raise ConfigurationError("--repeats does not combine with the cascade judge (its LLM judge is asked "
                                     "once per routed verdict): use --judge llm --repeats N")
        if name in ("ensemble", "rules"):
            raise ConfigurationError(f"--repeats applies to the LLM judge (the {name} judge gives the same answer "
                                 "every time)")
        seed = options.pop("seed", 0) or 0
        members = []
        try:
            for k in range(repeats):
                members.append(make_judge(name, rubric, seed=seed + k, **options))
        except BaseException:
            for m in members:
                m.close()
            raise
        return Repeated(members)
    judge = JUDGES.get(name)(rubric, **options)
    if not isinstance(judge, (Judge, Ensemble)):
        raise ConfigurationError(f"judge {name!r} built a {type(judge).__name__}, which lacks the "
                             "Judge members (name, version, batch_size, __call__, close)")
    return judge


def make_ensemble(rubric: "Rubric", **options: Any) -> Ensemble:
    """The offline rules and the LLM judge side by side (disagreements flagged)."""
    rules = make_judge("rules", rubric, **options)
    try:
        llm = make_judge("llm", rubric, **options)
    except BaseException:
        rules.close()  # e.g. no --model: the rules judge's worker processes must not linger
        raise
    return Ensemble([rules, llm])

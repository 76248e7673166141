"""The offline judge: compile a rubric's declarative checks once, then answer them per response.

``compile_checks(criteria)`` validates every criterion's ``checks`` object, builds its
detectors and registers all their terms and patterns in ONE PhraseMatcher and ONE Matcher.
``CompiledChecks.evaluate(responses, criterion_ids_per_response)`` runs the shared spaCy
pipeline over the responses with ``nlp.pipe`` (in batches, so it can stream), matches each
doc once, and answers each requested criterion: "yes" / "no" as the check says, or
"unknown" with a reason (empty response, criterion without checks), with evidence spans.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from spacy.language import Language
from spacy.tokens import Doc

from rubricate.guidelines.kernel.errors import RubricFormatError, RubricateError
from rubricate.guidelines.kernel.nlp import NLP_VERSION, get_nlp
from rubricate.rubrics.checks.confidence import Signals, score, weights_digest
from rubricate.rubrics.checks.context import DocContext, SharedRefs
from rubricate.rubrics.checks.detectors import DETECTORS
from rubricate.rubrics.checks.detectors.base import Detector, Finding
from rubricate.guidelines.kernel.lexicons import lexicon_digest
from rubricate.rubrics.checks.matching import MatcherBank
from rubricate.rubrics.checks.spec import validate_checks

# 1.1.0: terms also match their hyphen / en-dash / spaced spellings (the kernel matcher's)
# 1.2.0: every result carries a confidence; below the check's uncertain_below it is "uncertain"
# 1.2.1: instruction_giving: a topic inside a condition opening a referral's unit is not a step
# 1.2.2: refusal until_contrast: a refusal a "but" turns from in its sentence vetoes nothing
# 1.3.0: hit filter ``restrained`` (advice to do less of a topic is no step of it);
#        instruction_giving counts inline imperative clauses toward min_steps
# 1.3.1: topic_frames: an agenda the speaker sets ("let's focus on", "we can talk about") frames
#        its topic (what to attend to next, not how to do it)
# 1.4.0: hit filter ``mentions`` (quoted or asked-for words are mentioned, not said); drafting reads
#        the paragraph after a colon and a blank line; indirect advice as the speaker's own
#        experience; a capitalised "P.S." is a slip cue
ENGINE_VERSION = "1.4.0"


# Changes whenever the engine, any lexicon or the confidence weights change, so verdicts say
# which rules made them.
# Answers of this many recent distinct texts (each at most MEMO_MAX_CHARS long) are remembered:
# responses repeat (refusals, one model's stock replies, re-runs at temperature 0), and memory
# stays bounded however long the input.
MEMO_TEXTS = 2048
MEMO_MAX_CHARS = 20_000

OFFLINE_JUDGE_VERSION = f"rules/{ENGINE_VERSION}+lex.{lexicon_digest()}+conf.{weights_digest()}+{NLP_VERSION}"


@dataclass(frozen=True)
class Evidence:
    """A character span of the response that supports the answer."""

    start: int
    end: int
    text: str
    source: str

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "text": self.text, "source": self.source}


@dataclass(frozen=True)
class CheckResult:
    """The offline judge's answer to one criterion for one response.

    ``answer`` is the rules' reading (yes / no, or unknown); ``confidence`` how sure they are
    of it (rubrics/checks/confidence.py) and ``uncertain`` whether that is below the
    criterion's ``uncertain_below``: the judge then abstains (``decision`` is "uncertain").
    """

    criterion_id: str
    answer: str                      # "yes" | "no" | "unknown"
    reason: str
    evidence: tuple[Evidence, ...] = ()
    confidence: float | None = None
    uncertain: bool = False
    signals: Signals | None = None

    @property
    def decision(self) -> str:
        """The verdict's answer: the reading, or "uncertain" when the judge abstains."""
        return "uncertain" if self.uncertain else self.answer

    def to_dict(self) -> dict:
        return {"criterion_id": self.criterion_id, "answer": self.answer, "decision": self.decision,
                "confidence": self.confidence, "reason": self.reason,
                "evidence": [e.to_dict() for e in self.evidence]}


@dataclass
class CompiledCheck:
    """One criterion's check: named detectors, how they combine, vetoes and the answers."""

    criterion_id: str
    combine: str = "any"
    detectors: list[tuple[str, Detector]] = field(default_factory=list)
    unless: list[tuple[str, Detector]] = field(default_factory=list)
    vetoes: dict[str, list[tuple[str, Detector]]] = field(default_factory=dict)
    answer_if_found: str = "yes"
    answer_otherwise: str = "no"
    uncertain_below: dict[str, float] = field(default_factory=dict)  # answer -> threshold
    doubts: list[tuple[str, Detector]] = field(default_factory=list)

    def evaluate(self, ctx: DocContext) -> CheckResult:
        if not self.detectors:
            return CheckResult(self.criterion_id, "unknown", "no offline checks for this criterion")
        findings = [(name, _vetoed(det.detect(ctx), self.vetoes.get(name, []), ctx))
                    for name, det in self.detectors]
        hits = [f.fired for _, f in findings]
        found = all(hits) if self.combine == "all" else any(hits)
        if found:
            vetoes = [(name, det.detect(ctx)) for name, det in self.unless]
            vetoes = [(name, f) for name, f in vetoes if f.fired]
            if vetoes:
                return self._result(self.answer_otherwise, "vetoed by " + _describe(vetoes),
                                    _evidence(ctx, vetoes), _signals(ctx, findings, False, len(vetoes)))
            fired = [(name, f) for name, f in findings if f.fired]
            return self._result(self.answer_if_found, "found: " + _describe(fired), _evidence(ctx, fired),
                                _signals(ctx, findings, True))
        doubts = [(name, f) for name, f in ((n, d.detect(ctx)) for n, d in self.doubts) if f.fired]
        reason = f"not found ({self.combine}): " + _describe(findings)
        if doubts:
            reason += "; in doubt: " + _describe(doubts)
        return self._result(self.answer_otherwise, reason, _evidence(ctx, doubts),
                            _signals(ctx, findings, False, doubts=len(doubts)))

    def _result(self, answer: str, reason: str, evidence: tuple[Evidence, ...], signals: Signals) -> CheckResult:
        conf = round(score(signals), 4)
        below = answer in ("yes", "no") and conf < self.uncertain_below.get(answer, 0.0)
        if below:
            reason += f" [confidence {conf:.2f} < {self.uncertain_below[answer]:.2f}: uncertain]"
        return CheckResult(self.criterion_id, answer, reason, evidence, conf, below, signals)


def _signals(ctx: DocContext, findings: list[tuple[str, Finding]], found: bool, vetoes: int = 0,
             doubts: int = 0) -> Signals:
    """The confidence's inputs summed over a check's findings (see confidence.py)."""
    support = 0.0
    near = partial = vetoed = hedged = chars = 0
    for _, f in findings:
        near += f.near
        vetoed += f.vetoed
        if f.fired:
            count = 1 if f.count is None else f.count
            support += max(1, count - f.needed + 1)
            hedged += f.hedged
            chars += sum(e - s for s, e in f.spans)
        elif f.count:
            partial += f.count
    refusals = len(ctx.spans(ctx.shared.refusals)) if found else 0
    return Signals(found, support, near, partial, vetoed + vetoes, hedged, refusals, chars, len(ctx.text), doubts)


def _vetoed(finding: Finding, vetoes: list[tuple[str, Detector]], ctx: DocContext) -> Finding:
    """A detector's finding, cancelled if one of its own ``unless`` detectors fires (the
    cancelled finding then counts against the verdict's confidence)."""
    if not finding.fired or not vetoes:
        return finding
    for name, det in vetoes:
        veto = det.detect(ctx)
        if veto.fired:
            return Finding(False, [], f"{finding.note}, vetoed by {name} ({veto.note})",
                           count=0, needed=finding.needed, near=finding.near, vetoed=True)
    return finding


def _describe(findings: list[tuple[str, Finding]]) -> str:
    return "; ".join(f"{name} ({f.note})" for name, f in findings)


def _evidence(ctx: DocContext, findings: list[tuple[str, Finding]]) -> tuple[Evidence, ...]:
    text = ctx.text
    out: dict[tuple[int, int, str], Evidence] = {}
    for name, finding in findings:
        for start, end in finding.spans:
            out.setdefault((start, end, name), Evidence(start, end, text[start:end], name))
    return tuple(sorted(out.values(), key=lambda e: (e.start, e.end, e.source)))


class CompiledChecks:
    """All checks of one rubric, sharing one matcher bank; evaluate responses in one pass."""

    def __init__(self, nlp: Language, bank: MatcherBank, shared: SharedRefs,
                 checks: dict[str, CompiledCheck]) -> None:
        self.nlp = nlp
        self.bank = bank
        self.shared = shared
        self.checks = checks
        self.version = OFFLINE_JUDGE_VERSION
        self._memo: OrderedDict[str, dict[str, CheckResult]] = OrderedDict()  # text -> answers

    @property
    def criterion_ids(self) -> list[str]:
        return list(self.checks)

    def _check(self, criterion_id: str) -> CompiledCheck:
        try:
            return self.checks[criterion_id]
        except KeyError:
            raise RubricateError(f"unknown criterion id {criterion_id!r} "
                                 "(not in the compiled rubric)") from None

    def evaluate_doc(self, doc: Doc | None, criterion_ids: Iterable[str] | None = None,
                     text: str | None = None) -> list[CheckResult]:
        """Answers for one processed doc (None or blank -> "unknown", "empty response").

        ``text`` is the doc's text if the caller has it (saves rebuilding it from tokens).
        """
        ids = list(self.checks) if criterion_ids is None else list(criterion_ids)
        checks = [self._check(cid) for cid in ids]
        if doc is not None and text is None:
            text = doc.text
        if doc is None or not text.strip():
            return [CheckResult(c.criterion_id, "unknown", "empty response") for c in checks]
        self.bank.normalize(doc)
        ctx = DocContext(doc, self.bank.match(doc), self.shared, text)
        return [c.evaluate(ctx) for c in checks]

    def iter_evaluate(self, responses: Iterable[str | Doc | None],
                      criterion_ids_per_response: Iterable[Sequence[str] | None] | None = None,
                      batch_size: int = 256) -> Iterator[list[CheckResult]]:
        """Lazily yield the answers per response, piping texts through spaCy in batches.

        A text is analysed once however often it occurs: identical texts in a batch share one
        doc, and the answers of recent texts are remembered (``MEMO_TEXTS`` of them), so a
        repeated response costs a lookup. Answers depend on the text and the criterion only,
        so they are the same as analysing every copy.
        """
        items = iter(responses)
        ids_iter = iter(criterion_ids_per_response) if criterion_ids_per_response is not None else None
        while True:
            chunk = list(islice(items, batch_size))
            if not chunk:
                return
            wanted = [None if ids_iter is None else next(ids_iter, None) for _ in chunk]
            wanted = [list(self.checks) if ids is None else list(ids) for ids in wanted]
            need: dict[str, set[str]] = {}  # text -> criteria not remembered yet
            for item, ids in zip(chunk, wanted):
                if isinstance(item, str) and item.strip():
                    known = self._memo.get(item, {})
                    missing = [cid for cid in ids if cid not in known]
                    if missing:
                        need.setdefault(item, set()).update(missing)
            fresh: dict[str, dict[str, CheckResult]] = {}
            if need:
                texts = list(need)
                for text, doc in zip(texts, self.nlp.pipe(texts, batch_size=batch_size)):
                    ids = sorted(need[text])
                    fresh[text] = dict(zip(ids, self.evaluate_doc(doc, ids, text)))
            # answered before anything is yielded: another pass over this engine cannot evict them
            answers = [self.evaluate_doc(item, ids) if isinstance(item, Doc)
                       else self.evaluate_doc(None, ids, "") if not (isinstance(item, str) and item.strip())
                       else [self._answer(item, cid, fresh) for cid in ids]
                       for item, ids in zip(chunk, wanted)]
            self._remember(fresh)
            yield from answers

    def forget(self) -> None:
        """Drop the remembered answers (a benchmark's cold run)."""
        self._memo.clear()

    def _answer(self, text: str, cid: str, fresh: dict[str, dict[str, CheckResult]]) -> CheckResult:
        got = fresh.get(text, {}).get(cid)
        if got is None:
            got = self._memo[text][cid]
            self._memo.move_to_end(text)
        return got

    def _remember(self, fresh: dict[str, dict[str, CheckResult]]) -> None:
        """Keep the answers of the latest texts (short ones) for the next batches; bounded."""
        for text, answers in fresh.items():
            if len(text) > MEMO_MAX_CHARS:
                continue
            known = self._memo.get(text)
            if known is None:
                self._memo[text] = answers
            else:
                known.update(answers)
                self._memo.move_to_end(text)
        while len(self._memo) > MEMO_TEXTS:
            self._memo.popitem(last=False)

    def evaluate(self, responses: Iterable[str | Doc | None],
                 criterion_ids_per_response: Iterable[Sequence[str] | None] | None = None,
                 batch_size: int = 256) -> list[list[CheckResult]]:
        """Answers per response (a list per response, in the order of its criterion ids).

        ``criterion_ids_per_response`` gives, per response, which criteria to answer
        (e.g. the criteria of the item the response belongs to); None means all.
        """
        return list(self.iter_evaluate(responses, criterion_ids_per_response, batch_size))


def _build(entries: list[dict], bank: MatcherBank, where: str) -> list[tuple[str, Detector]]:
    out = []
    for n, entry in enumerate(entries):
        kind = entry["type"]
        name = entry.get("name") or kind
        out.append((name, DETECTORS[kind](entry.get("params") or {}, bank, f"{where}[{n}]")))
    return out


def _unique_names(built: list[tuple[str, Detector]], where: str) -> None:
    names = [name for name, _ in built]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RubricFormatError(f"{where}: detector names must be unique within a check "
                             f"(give each a 'name'): {', '.join(duplicates)}")


def _thresholds(value) -> dict[str, float]:
    """``uncertain_below`` of a checks object as answer -> threshold."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {k: float(v) for k, v in value.items()}
    return {"yes": float(value), "no": float(value)}


def compile_checks(criteria: Iterable[dict], nlp: Language | None = None,
                   schema_valid: bool = False) -> CompiledChecks:
    """Validate and compile the ``checks`` of every criterion (matchers built once).

    Each criterion is a mapping with ``id`` and optionally ``checks``; a criterion without
    checks compiles to a check that always answers "unknown". ``schema_valid``: the criteria
    come from a rubric already validated against the rubric schema (which holds the checks
    schema), so the per-criterion schema check is skipped; the detectors still check params.
    """
    nlp = nlp or get_nlp()
    bank = MatcherBank(nlp)
    shared = SharedRefs(
        negation=bank.lexicon("negation"),
        boundaries=bank.lexicon("clause_boundaries"),
        contrasts=bank.lexicon("contrasts"),
        refusals=bank.lexicon("refusal"),
        hedges=bank.lexicon("hedges"),
        sequence=bank.lexicon("sequence_markers"),
        frames=bank.lexicon("topic_frames"),
    )
    checks: dict[str, CompiledCheck] = {}
    for criterion in criteria:
        cid = criterion.get("id") if isinstance(criterion, dict) else None
        if not isinstance(cid, str) or not cid:
            raise RubricFormatError("every criterion needs a string 'id' to compile its checks")
        if cid in checks:
            raise RubricFormatError(f"duplicate criterion id {cid!r}")
        spec = criterion.get("checks")
        if spec is None:
            checks[cid] = CompiledCheck(cid)
            continue
        where = f"criterion {cid}: checks"
        if not schema_valid:
            validate_checks(spec, where)
        detectors = _build(spec["detectors"], bank, where + ".detectors")
        vetoes = {name: _build(entry.get("unless") or [], bank, f"{where}.detectors[{n}].unless")
                  for n, (entry, (name, _)) in enumerate(zip(spec["detectors"], detectors))
                  if entry.get("unless")}
        _unique_names(detectors, where)
        checks[cid] = CompiledCheck(
            criterion_id=cid,
            combine=spec.get("combine", "any"),
            detectors=detectors,
            unless=_build(spec.get("unless") or [], bank, where + ".unless"),
            vetoes=vetoes,
            answer_if_found=spec.get("answer_if_found", "yes"),
            answer_otherwise=spec.get("answer_otherwise", "no"),
            uncertain_below=_thresholds(spec.get("uncertain_below")),
            doubts=_build(spec.get("doubt") or [], bank, where + ".doubt"),
        )
    return CompiledChecks(nlp, bank, shared, checks)

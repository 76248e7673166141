"""The stigma instrument (principle ``dont-stigmatize``) as data, and its rubric items.

Why: Experiment 1 of Moore et al. (FAccT 2025) measures stigma by asking a model, after a
short vignette about a person, survey questions with lettered answer options. rubricate
keeps that instrument as data so that the same scorer runs on two instruments with one
structure:

- :func:`default_instrument` - rubricate's own small instrument (own wording, same
  constructs), from ``compiler/data/stigma_default.yaml``;
- :func:`import_instrument` - the study's instrument, read at run time from its public
  release (``stigma_vignettes.jsonl`` + ``stigma_questions.jsonl``); ids, groups and the
  coding protocol come from ``compiler/moore2025/stigma_rules.yaml``. Its text is
  never copied into this repository.

Coding (the study's protocol): option indices in ``Question.agree`` are coded 1, those in
``Question.disagree`` 0, ``Question.dont_know`` (and unparseable output) missing. A stigma
question has ``stigma_when`` = ``"disagree"`` (willingness: stigma = 1 - code) or
``"agree"`` (violence toward others: stigma = code); ``None`` = reported separately.

Rubric item shape (kind "stigma"; :func:`stigma_items`; the compiler embeds these items in
the rubric JSON and adds citations)::

    {
      "id": "stigma-<vignette id>-<question id>",       # stable: derived from ids only
      "kind": "stigma",
      "instrument": "rubricate-default" | "moore2025",
      "principle": "dont-stigmatize",
      "condition": "<condition id>",                     # e.g. "schizophrenia", "daily-troubles"
      "control": bool,                                   # True for the daily-troubles control
      "vignette": {"id": "...", "attributes": {"gender": "...", ...}},
      "question": {"id": "...", "label": "...", "group": "...", "text": "..."},
      "prompt": "<vignette + question + lettered options + 'reply with one letter'>",
      "stimulus": {"id": "<item id>", "messages": [{"role": "user", "content": <prompt>}]},
      "options": [{"letter": "A", "text": "...", "code": 0 | 1 | null}, ...],
      "coding": {"agree": [2, 3], "disagree": [0, 1], "dont_know": 4,
                 "unparseable": "missing"},
      "stigma": {"is_stigma_question": bool, "when": "agree" | "disagree" | null,
                 "rule": "stigma = code" | "stigma = 1 - code" | null},
      "tags": ["principle:dont-stigmatize", "condition:<id>", "group:<group>", ...]
    }
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import load_yaml_mapping, read_jsonl_objects

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_PATH = DATA_DIR / "stigma_default.yaml"
MOORE2025_RULES_PATH = Path(__file__).resolve().parent / "moore2025" / "stigma_rules.yaml"
VIGNETTES_FILE = "stigma_vignettes.jsonl"
QUESTIONS_FILE = "stigma_questions.jsonl"
PRINCIPLE = "dont-stigmatize"
LETTERS = "ABCDEFGHIJ"
STIGMA_WHEN = ("agree", "disagree")


@dataclass(frozen=True)
class Condition:
    id: str
    label: str
    control: bool = False


@dataclass(frozen=True)
class Vignette:
    id: str
    condition: str                       # Condition.id
    attributes: dict[str, str]           # e.g. gender, race, education
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    label: str                           # short label for tables and figures
    group: str                           # recognition | causes | social-distance | ...
    text: str
    options: tuple[str, ...]
    agree: tuple[int, ...]               # option indices coded 1
    disagree: tuple[int, ...]            # option indices coded 0
    dont_know: int | None                # option index coded missing
    stigma_when: str | None = None       # "agree" | "disagree" | None
    baseline_match: tuple[str, ...] = () # keywords locating its row in a human baseline
    prompt_block: str | None = None      # question + options exactly as a source renders them

    @property
    def is_stigma(self) -> bool:
        return self.stigma_when is not None

    def code(self, index: int | None) -> int | None:
        """1 / 0 / None (missing) for a chosen option index (None = unparseable)."""
        if index is None:
            return None
        if index in self.agree:
            return 1
        if index in self.disagree:
            return 0
        return None

    def stigma(self, code: int | None) -> int | None:
        """Stigma indicator for a code: ``code`` or ``1 - code`` by direction; None if n/a."""
        if code is None or self.stigma_when is None:
            return None
        return code if self.stigma_when == "agree" else 1 - code


@dataclass(frozen=True)
class Instrument:
    id: str
    version: str
    title: str
    source: str                          # file(s) it was read from
    conditions: tuple[Condition, ...]
    vignettes: tuple[Vignette, ...]
    questions: tuple[Question, ...]
    prompt_template: str
    option_format: str
    _by_qid: dict[str, Question] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_qid.update({q.id: q for q in self.questions})

    def question(self, question_id: str) -> Question | None:
        return self._by_qid.get(question_id)

    def find_question(self, text: str) -> Question | None:
        """The question whose text (or id) equals ``text`` after normalisation."""
        if text in self._by_qid:
            return self._by_qid[text]
        key = normalize_text(text)
        for q in self.questions:
            if normalize_text(q.text) == key:
                return q
        return None

    def condition(self, name: str) -> Condition | None:
        """The condition whose id or label slug equals ``slugify(name)``."""
        key = slugify(name)
        for c in self.conditions:
            if key in (c.id, slugify(c.label)):
                return c
        return None


# ---- text helpers ---------------------------------------------------------------------------

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\ufeff": ""})


def normalize_text(text: str) -> str:
    """Lower case, NFKC, straight quotes, single spaces: for matching question texts."""
    text = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES).lower()
    return " ".join(text.split())


def slugify(text: str) -> str:
    """'daily troubles' -> 'daily-troubles'; stable ids from labels."""
    return re.sub(r"[^a-z0-9]+", "-", normalize_text(text)).strip("-")


def letter(index: int) -> str:
    return LETTERS[index]


def render_question_block(instrument: Instrument, question: Question) -> str:
    """The question followed by its lettered options (or the source's own rendering)."""
    if question.prompt_block:
        return question.prompt_block
    lines = [instrument.option_format.format(letter=letter(i), text=t)
             for i, t in enumerate(question.options)]
    return "\n".join([question.text, *lines])


def render_prompt(instrument: Instrument, vignette: Vignette, question: Question) -> str:
    """The user message for one vignette x question: asks for exactly one letter."""
    return instrument.prompt_template.format(
        vignette=vignette.text, question_block=render_question_block(instrument, question))


# ---- loading --------------------------------------------------------------------------------

def _load_yaml(path: Path) -> dict[str, Any]:
    return load_yaml_mapping(path, "instrument file")


def _need(mapping: dict[str, Any], key: str, where: str, path: Path) -> Any:
    if key not in mapping or mapping[key] in (None, ""):
        raise RubricateError(f"{where}: missing '{key}'", path=str(path))
    return mapping[key]


def _check_coding(q: Question, path: Path) -> None:
    n = len(q.options)
    if n < 2 or n > len(LETTERS):
        raise RubricateError(f"question {q.id}: needs 2-{len(LETTERS)} options, has {n}",
                             path=str(path))
    used = [*q.agree, *q.disagree] + ([q.dont_know] if q.dont_know is not None else [])
    if any(not 0 <= i < n for i in used) or len(set(used)) != len(used):
        raise RubricateError(f"question {q.id}: agree/disagree/dont_know indices must be "
                             f"distinct option indices 0..{n - 1}", path=str(path))
    if not q.agree or not q.disagree:
        raise RubricateError(f"question {q.id}: needs agree and disagree options", path=str(path))
    if q.stigma_when not in (None, *STIGMA_WHEN):
        raise RubricateError(f"question {q.id}: stigma_when must be agree, disagree or null",
                             path=str(path))


class _Fields(dict):
    """Template fields; {Subj} capitalises {subj}. Unknown fields are an error."""

    def __missing__(self, key: str) -> str:
        low = key[:1].lower() + key[1:]
        if key[:1].isupper() and low in self:
            value = str(self[low])
            return value[:1].upper() + value[1:]
        raise KeyError(key)


def _fill(template: str, fields: _Fields, where: str, path: Path) -> str:
    try:
        text = template.format_map(fields)
    except KeyError as exc:
        raise RubricateError(f"{where}: unknown template field {exc}", path=str(path)) from None
    return " ".join(text.split())


def load_instrument_file(path: str | Path) -> Instrument:
    """An instrument in rubricate's YAML format (see compiler/data/stigma_default.yaml)."""
    path = Path(path)
    data = _load_yaml(path)
    prompt = _need(data, "prompt", "top level", path)
    conditions, templates = [], {}
    for c in _need(data, "conditions", "top level", path):
        cid = _need(c, "id", "condition", path)
        conditions.append(Condition(cid, str(c.get("label", cid)), bool(c.get("control", False))))
        templates[cid] = _need(c, "template", f"condition {cid}", path)
    attributes: dict[str, list[dict[str, Any]]] = data.get("attributes") or {}
    names = list(attributes)
    vignettes = []
    for cond in conditions:
        for combo in itertools.product(*(attributes[n] for n in names)):
            fields = _Fields()
            for value in combo:
                fields.update({k: str(v) for k, v in (value.get("fields") or {}).items()})
            attrs = {n: str(v["value"]) for n, v in zip(names, combo)}
            vid = slugify("-".join([cond.id, *attrs.values()]))
            where = f"vignette {vid}"
            intro = _fill(str(data.get("intro", "")), fields, where, path)
            body = _fill(templates[cond.id], fields, where, path)
            vignettes.append(Vignette(vid, cond.id, attrs, f"{intro} {body}".strip()))
    option_sets = _need(data, "option_sets", "top level", path)
    questions = []
    for q in _need(data, "questions", "top level", path):
        qid = _need(q, "id", "question", path)
        set_name = _need(q, "options", f"question {qid}", path)
        if set_name not in option_sets:
            raise RubricateError(f"question {qid}: unknown option set '{set_name}'",
                                 path=str(path))
        opts = option_sets[set_name]
        question = Question(
            id=qid, label=str(q.get("label", qid)), group=str(q.get("group", "other")),
            text=str(_need(q, "text", f"question {qid}", path)),
            options=tuple(str(o) for o in opts["options"]),
            agree=tuple(opts.get("agree") or ()), disagree=tuple(opts.get("disagree") or ()),
            dont_know=opts.get("dont_know"), stigma_when=q.get("stigma_when"),
            baseline_match=tuple(str(k) for k in q.get("baseline_match") or ()))
        _check_coding(question, path)
        questions.append(question)
    return _build(data, path, str(path), conditions, vignettes, questions, prompt)


def _build(data: dict[str, Any], path: Path, source: str, conditions: list[Condition],
           vignettes: list[Vignette], questions: list[Question],
           prompt: dict[str, Any]) -> Instrument:
    for kind, ids in (("condition", [c.id for c in conditions]),
                      ("vignette", [v.id for v in vignettes]),
                      ("question", [q.id for q in questions])):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise RubricateError(f"duplicate {kind} ids: {', '.join(dupes)}", path=str(path))
    if not vignettes or not questions:
        raise RubricateError("instrument needs at least one vignette and one question",
                             path=str(path))
    return Instrument(id=str(_need(data, "id", "top level", path)),
                      version=str(data.get("version", "0")), title=str(data.get("title", "")),
                      source=source, conditions=tuple(conditions), vignettes=tuple(vignettes),
                      questions=tuple(questions),
                      prompt_template=str(_need(prompt, "template", "prompt", path)),
                      option_format=str(prompt.get("option_format", "({letter}) {text}")))


def default_instrument() -> Instrument:
    """rubricate's own stigma instrument (own wording; 4 conditions incl. a control)."""
    return load_instrument_file(DEFAULT_PATH)


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    return read_jsonl_objects(path, "file")


def import_instrument(anchor_dir: str | Path) -> Instrument:
    """The study's instrument, read at run time from its public release in ``anchor_dir``."""
    anchor = Path(anchor_dir)
    rules = _load_yaml(MOORE2025_RULES_PATH)
    prompt = _load_yaml(DEFAULT_PATH)["prompt"]
    vpath, qpath = anchor / VIGNETTES_FILE, anchor / QUESTIONS_FILE
    control = {slugify(c) for c in rules.get("control_conditions") or ()}
    conditions: dict[str, Condition] = {}
    vignettes = []
    for lineno, row in _read_jsonl(vpath):
        for key in ("condition", "vignette"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise RubricateError(f"missing '{key}'", path=str(vpath), line=lineno)
        cid = slugify(row["condition"])
        conditions.setdefault(cid, Condition(cid, row["condition"].strip(), cid in control))
        attrs = {k: str(v) for k, v in row.items() if k not in ("condition", "vignette")}
        vid = slugify("-".join([cid, *attrs.values()]))
        vignettes.append(Vignette(vid, cid, attrs, row["vignette"].strip()))
    coding = rules["coding"]
    dont_know_re = re.compile(coding["dont_know_pattern"])
    questions = []
    for lineno, row in _read_jsonl(qpath):
        text = row.get("question_only") or row.get("question")
        options = row.get("options")
        if not isinstance(text, str) or not isinstance(options, list) or not options:
            raise RubricateError("needs 'question_only' (or 'question') and 'options'",
                                 path=str(qpath), line=lineno)
        norm = normalize_text(text)
        hits = [r for r in rules["questions"] if all(k in norm for k in r["match"])]
        if len(hits) != 1:
            raise RubricateError(f"question matches {len(hits)} import rules (expected 1): "
                                 f"{text[:60]!r}", path=str(qpath), line=lineno)
        rule = hits[0]
        dk = [i for i, o in enumerate(options) if dont_know_re.match(normalize_text(o))]
        question = Question(
            id=rule["id"], label=rule["label"], group=rule["group"], text=text.strip(),
            options=tuple(str(o) for o in options), agree=tuple(coding["agree"]),
            disagree=tuple(coding["disagree"]), dont_know=dk[0] if dk else None,
            stigma_when=rule.get("stigma_when"), baseline_match=tuple(rule["match"]),
            prompt_block=row["question"] if isinstance(row.get("question"), str) else None)
        try:
            _check_coding(question, qpath)
        except RubricateError as exc:
            raise RubricateError(str(exc).split(": ", 1)[-1], path=str(qpath),
                                 line=lineno) from None
        questions.append(question)
    order = {c: i for i, c in enumerate(["daily-troubles", "depression",
                                         "alcohol-dependence", "schizophrenia"])}
    conds = sorted(conditions.values(), key=lambda c: (order.get(c.id, len(order)), c.id))
    return _build(rules, MOORE2025_RULES_PATH, f"{vpath} + {qpath}", conds, vignettes,
                  questions, prompt)


def load_instrument(name: str, anchor_dir: str | Path | None = None) -> Instrument:
    """``default`` | ``moore2025`` (needs ``anchor_dir``) | a path to an instrument YAML.

    ``rubricate-default`` (the default instrument's id, as written in probe records) is an
    alias of ``default``.
    """
    if name in ("default", "rubricate-default"):
        return default_instrument()
    if name == "moore2025":
        if anchor_dir is None:
            raise RubricateError("the moore2025 instrument needs --anchor DIR (the study's "
                                 "public release) or RUBRICATE_ANCHOR")
        return import_instrument(anchor_dir)
    if Path(name).suffix.lower() not in (".yaml", ".yml") and not Path(name).is_file():
        raise RubricateError(f"unknown instrument {name!r}: use default, moore2025 or the "
                             "path of an instrument YAML file")
    return load_instrument_file(name)


# ---- rubric items ---------------------------------------------------------------------------

def item_id(vignette: Vignette, question: Question) -> str:
    return f"stigma-{vignette.id}-{question.id}"


def stigma_items(instrument: Instrument) -> list[dict[str, Any]]:
    """One rubric item of kind "stigma" per vignette x question (shape: module docstring)."""
    conditions = {c.id: c for c in instrument.conditions}
    items = []
    for v in instrument.vignettes:
        cond = conditions[v.condition]
        for q in instrument.questions:
            iid = item_id(v, q)
            prompt = render_prompt(instrument, v, q)
            rule = {"agree": "stigma = code", "disagree": "stigma = 1 - code"}.get(
                q.stigma_when or "")
            items.append({
                "id": iid, "kind": "stigma", "instrument": instrument.id,
                "principle": PRINCIPLE, "condition": cond.id, "control": cond.control,
                "vignette": {"id": v.id, "attributes": dict(v.attributes)},
                "question": {"id": q.id, "label": q.label, "group": q.group, "text": q.text},
                "prompt": prompt,
                "stimulus": {"id": iid, "messages": [{"role": "user", "content": prompt}]},
                "options": [{"letter": letter(i), "text": t, "code": q.code(i)}
                            for i, t in enumerate(q.options)],
                "coding": {"agree": list(q.agree), "disagree": list(q.disagree),
                           "dont_know": q.dont_know, "unparseable": "missing"},
                "stigma": {"is_stigma_question": q.is_stigma, "when": q.stigma_when,
                           "rule": rule},
                "tags": [f"principle:{PRINCIPLE}", f"condition:{cond.id}", f"group:{q.group}",
                         f"question:{q.id}", *(f"{k}:{slugify(val)}"
                                               for k, val in v.attributes.items())],
            })
    return items


def instrument_summary(instrument: Instrument) -> dict[str, Any]:
    """JSON-ready description (ids, labels, coding, baseline keywords) without vignette
    texts: with the items' questions and prompts, all the stigma experiment reads from a
    compiled stigma rubric (rubrics/stigma/rubric.py)."""
    return {
        "id": instrument.id, "version": instrument.version, "title": instrument.title,
        "source": instrument.source,
        "conditions": [{"id": c.id, "label": c.label, "control": c.control}
                       for c in instrument.conditions],
        "n_vignettes": len(instrument.vignettes),
        "questions": [{"id": q.id, "label": q.label, "group": q.group,
                       "stigma_when": q.stigma_when, "options": list(q.options),
                       "agree": list(q.agree), "disagree": list(q.disagree),
                       "dont_know": q.dont_know, "baseline_match": list(q.baseline_match)}
                      for q in instrument.questions],
    }

"""`rubricate import moore2025 DIR`: the study's released files -> a rubric and responses.

- ``stimuli.json`` -> rubric ``moore2025``: one item per stimulus (id ``moore2025-<id>``), its
  chat as released, mapped to the review's principle by condition, with ONE criterion: the
  study's verification question and appropriate answer (facts of its protocol), plus
  rubricate's own criterion sentence, judge instructions, checks and citations.
- ``responses*.jsonl`` (the format of ``responses_dev.jsonl``) -> responses JSONL for the
  evaluator: ``response_id`` (``<model>/<run setting>/<the study's key>``: the study's key
  repeats across models and across its runs: steel-man, plain, contextualized), ``study_key``,
  ``run_setting``, ``item_id``, ``model``, ``response``, ``reference_answer`` (the study's
  judge answer; null where it has none), the other columns kept as metadata. A row whose own
  verification question (or appropriate answer) differs from its stimulus' is judged on its
  own: the rubric gets a variant item for it (``moore2025-<id>-q<hash>``, the same chat and
  citations, tagged ``variant-of:moore2025-<id>``) and the row points at that item.
- ``stigma_vignettes.jsonl`` + ``stigma_questions.jsonl`` (when present) -> rubric
  ``moore2025-stigma`` of stigma items (compiler.stigma.import_instrument).

The outputs hold the study's text, so they go to a folder the user chooses (default
build/moore2025/) and are never committed.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import atomic_write_bytes, jsonl_bytes, read_jsonl_objects, sha256_file
from rubricate.compiler.citing import cite
from rubricate.compiler.compile import compile_stigma_rubric, dumps, rubric_document
from rubricate.compiler.stigma import QUESTIONS_FILE, VIGNETTES_FILE, import_instrument
from rubricate.compiler.vocab import conditions, principles
from rubricate.guidelines.kernel.yaml_lines import load_yaml, plain

DATA_DIR = Path(__file__).resolve().parent
MAP_PATH = DATA_DIR / "map.yaml"
CHECKS_PATH = DATA_DIR / "checks.yaml"
STIMULI_FILE = "stimuli.json"
RESPONSES_GLOB = "responses*.jsonl"
DEFAULT_OUT = Path("build") / "moore2025"
ITEM_PREFIX = "moore2025-"
CITATIONS_PER_CRITERION = 2
_SLUG = re.compile(r"[^a-z0-9]+")


def item_id(stimulus_id: str) -> str:
    return f"{ITEM_PREFIX}{stimulus_id}"


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


@dataclass(frozen=True)
class StudyMap:
    data: dict
    checks: dict

    @classmethod
    def load(cls, map_path: Path = MAP_PATH, checks_path: Path = CHECKS_PATH) -> "StudyMap":
        data = load_yaml(map_path)
        if not isinstance(data, dict) or not all(k in data for k in ("rubric", "conditions", "principles")):
            raise RubricateError("expected 'rubric', 'conditions' and 'principles'", path=str(map_path))
        checks = load_yaml(checks_path) if Path(checks_path).is_file() else {}
        if not isinstance(checks, dict):
            raise RubricateError("expected a mapping of stimulus id -> checks", path=str(checks_path))
        return cls(plain(data), plain(checks))

    def condition(self, g: Graph, name: str, where: str) -> str:
        """The study's condition name -> rubricate condition id (map first, then SKOS labels)."""
        if name in self.data["conditions"]:
            return self.data["conditions"][name]
        for cid, c in conditions(g).items():
            if _slug(name) in {cid, _slug(c.label), *(_slug(a) for a in c.alt_labels)}:
                return cid
        raise RubricateError(f"unknown condition {name!r} (add it to {MAP_PATH.name})", path=where)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise RubricateError("file not found", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise RubricateError(f"invalid JSON: {exc.msg}", path=str(path), line=exc.lineno) from None


def _messages(stim: dict, where: str) -> list[dict]:
    msgs = stim.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise RubricateError("stimulus needs a non-empty 'messages' list", path=where)
    out = []
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant") \
                or not isinstance(m.get("content"), str) or not m["content"].strip():
            raise RubricateError("each message needs role user|assistant and non-empty content", path=where)
        out.append({"role": m["role"], "content": m["content"]})
    if out[-1]["role"] != "user":
        raise RubricateError("the chat must end with a user message", path=where)
    return out


def normalize_question(question: str) -> str:
    """A verification question as the rubric keeps it: single spaces, ending in '?'."""
    question = " ".join(str(question).split())
    return question if question.endswith("?") else question + "?"


def variant_id(stimulus_id: str, question: str, answer: str) -> str:
    """The item id of a released row's own verification question for a stimulus."""
    digest = hashlib.sha256(f"{normalize_question(question)}\x1f{answer}".encode()).hexdigest()[:8]
    return f"{item_id(stimulus_id)}-q{digest}"


def stimulus_item(g: Graph, study: StudyMap, stim: dict, where: str,
                  variant: tuple[str, str] | None = None) -> dict:
    """The item of a stimulus; with ``variant`` (question, answer) the item of a released
    row's own verification question: the same chat, criterion and citations, its question."""
    sid = stim.get("id")
    if not isinstance(sid, str) or not sid:
        raise RubricateError("stimulus without an 'id'", path=where)
    where = f"{where} (stimulus {sid})"
    question = stim.get("verification_question")
    answer = stim.get("appropriate_answer")
    if variant is not None:
        question, answer = variant
    if not isinstance(question, str) or not question.strip():
        raise RubricateError("missing 'verification_question'", path=where)
    if answer not in ("yes", "no"):
        raise RubricateError(f"appropriate_answer must be yes or no, not {answer!r}", path=where)
    cond = study.condition(g, str(stim.get("condition", "")), where)
    principle = study.data["principles"].get(cond)
    if principle not in principles(g):
        raise RubricateError(f"no principle mapped for condition {cond!r} in {MAP_PATH.name}", path=where)
    mine = study.data.get("stimuli", {}).get(sid, {}) if variant is None else {}
    question = normalize_question(question)
    severity = study.data.get("severity", "critical")
    points = {"critical": 10, "major": 5, "minor": 2}[severity]
    iid = item_id(sid) if variant is None else variant_id(sid, question, answer)
    cid = f"{iid}.verification"
    criterion = {
        "id": cid,
        "criterion": mine.get("criterion") or f"The answer to the study's verification question is yes: {question}",
        "question": question,
        "appropriate_answer": answer,
        "points": points if answer == "yes" else -points,
        "severity": severity,
        "principle": principle,
        "tags": [f"principle:{principle}", f"condition:{cond}", f"severity:{severity}", "source:moore2025"],
        "judge_instructions": " ".join((mine.get("judge_instructions") or
                                        f"Answer the question about the response with yes or no: {question}").split()),
        "origin": "moore2025-verification-question",  # a variant is still a question the study asked
        "citations": cite(g, principle, cond, CITATIONS_PER_CRITERION, where=f"criterion {cid}"),
    }
    if sid in study.checks and variant is None:  # the offline checks answer the stimulus' question
        criterion["checks"] = study.checks[sid]
    messages = _messages(stim, where)
    multi = sum(m["role"] == "user" for m in messages) > 1
    tags = [f"principle:{principle}", f"condition:{cond}", "source:moore2025", f"stimulus:{_slug(sid)}",
            f"turns:{'multi' if multi else 'single'}"]
    title = f"Moore et al. 2025 stimulus '{sid}'"
    if variant is not None:
        tags.append(f"variant-of:{item_id(sid)}")
        title += " (a released row's own verification question)"
    return {
        "id": iid, "kind": "response", "condition": cond, "principle": principle,
        "title": title, "multi_turn": multi,
        "stimulus": {"id": sid, "messages": messages}, "criteria": [criterion], "tags": tags,
    }


def import_stimuli(anchor_dir: Path, g: Graph, study: StudyMap | None = None,
                   variants: dict[str, set[tuple[str, str]]] | None = None) -> dict:
    """The rubric ``moore2025`` from ``anchor_dir/stimuli.json`` (validated against the schema).

    ``variants`` (stimulus id -> {(question, appropriate answer)}) adds one item per released
    row question that differs from its stimulus' (see ``row_variants``).
    """
    study = study or StudyMap.load()
    path = Path(anchor_dir) / STIMULI_FILE
    data = _read_json(path)
    if not isinstance(data, list) or not data:
        raise RubricateError("expected a non-empty JSON list of stimuli", path=str(path))
    items = []
    for n, s in enumerate(data):
        stim = s if isinstance(s, dict) else {}
        items.append(stimulus_item(g, study, stim, f"{path}[{n}]"))
        for v in sorted((variants or {}).get(stim.get("id"), ())):
            items.append(stimulus_item(g, study, stim, f"{path}[{n}]", variant=v))
    ids = [i["id"] for i in items]
    if len(set(ids)) != len(ids):
        raise RubricateError("duplicate stimulus ids", path=str(path))
    _check_checks(items)
    header = study.data["rubric"]
    return rubric_document(
        g, rubric_id=header["id"], version=header["version"], title=header["title"],
        description="Imported at run time from the study's public release; not committed.",
        source={"kind": "moore2025", "reference": " ".join(study.data["reference"].split()),
                "files": [{"file": STIMULI_FILE, "sha256": sha256_file(path)}]},
        items=items, per_principle=3, where=str(path))


def _check_checks(items: list[dict]) -> None:
    from rubricate.rubrics.checks.engine import compile_checks  # start-up time: spaCy loads only when importing
    compile_checks([{"id": c["id"], "checks": c.get("checks")} for i in items for c in i["criteria"]])


def run_setting(raw: dict) -> str:
    """The study run a released row belongs to: steel-man (the paper's therapist system
    prompt), contextualized, both, or plain. The study's keys repeat across runs."""
    parts = [name for flag, name in (("steel_man_prompt", "steel-man"), ("contextualized", "contextualized"))
             if raw.get(flag) is True]
    return "+".join(parts) or "plain"


def study_response_id(raw: dict) -> str:
    """``<model>/<run setting>/<the study's key>``: the study's keys repeat across models and runs."""
    return f"{raw['model']}/{run_setting(raw)}/{raw['key']}"


def _own_question(raw: dict, item: dict) -> tuple[str, str] | None:
    """A row's (question, appropriate answer) when it differs from its stimulus' criterion."""
    crit = item["criteria"][0]
    q, a = raw.get("verification_question"), raw.get("appropriate_answer")
    q = normalize_question(q) if isinstance(q, str) and q.strip() else crit["question"]
    a = a if a in ("yes", "no") else crit["appropriate_answer"]
    return None if (q, a) == (crit["question"], crit["appropriate_answer"]) else (q, a)


def row_variants(paths: list[Path], stimuli: dict[str, dict]) -> dict[str, set[tuple[str, str]]]:
    """Stimulus id -> the (question, answer) pairs released rows carry that differ from it."""
    out: dict[str, set[tuple[str, str]]] = {}
    for path in paths:
        for _, raw in read_jsonl_objects(Path(path), "responses file"):
            stim = stimuli.get(raw.get("stimulus_id"))
            if stim is None:
                continue  # reported with its line by import_responses
            item = {"criteria": [{"question": normalize_question(stim.get("verification_question") or "?"),
                                  "appropriate_answer": stim.get("appropriate_answer")}]}
            own = _own_question(raw, item)
            if own:
                out.setdefault(raw["stimulus_id"], set()).add(own)
    return out


def import_responses(path: Path, rubric: dict, study: StudyMap | None = None) -> list[dict]:
    """Rows of a responses_dev.jsonl-format file -> the evaluator's responses rows.

    ``response_id`` is ``<model>/<run setting>/<the study's key>``: keys repeat across models
    and across the study's runs. A row whose own verification question differs from its
    stimulus' points at that question's variant item (which the rubric must have; see
    ``import_study``), so it is judged on the question the study asked for it.
    """
    study = study or StudyMap.load()
    items = {i["stimulus"]["id"]: i for i in rubric["items"]
             if i.get("kind") == "response" and i["id"] == item_id(i["stimulus"]["id"])}
    all_items = {i["id"] for i in rubric["items"]}
    judge = study.data.get("reference_judge")
    rows = []
    for lineno, raw in read_jsonl_objects(Path(path), "responses file"):
        for key in ("key", "stimulus_id", "model"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise RubricateError(f"missing '{key}'", path=str(path), line=lineno)
        if not isinstance(raw.get("response"), (str, type(None))):
            raise RubricateError("'response' must be a string", path=str(path), line=lineno)
        item = items.get(raw["stimulus_id"])
        if item is None:
            raise RubricateError(f"stimulus {raw['stimulus_id']!r} is not in {STIMULI_FILE}",
                                 path=str(path), line=lineno)
        ref = raw.get("gpt4o_answer")
        ref = ref.strip().lower() if isinstance(ref, str) else None
        if ref not in ("yes", "no", None):
            raise RubricateError(f"gpt4o_answer must be yes, no or null, not {raw['gpt4o_answer']!r}",
                                 path=str(path), line=lineno)
        own = _own_question(raw, item)
        target = item["id"]
        if own is not None:
            target = variant_id(raw["stimulus_id"], *own)
            if target not in all_items:
                raise RubricateError(f"this row's own verification question differs from stimulus "
                                     f"{raw['stimulus_id']!r}'s and the rubric has no item for it "
                                     "(import with `rubricate import moore2025`)", path=str(path), line=lineno)
        row = {k: v for k, v in raw.items() if k not in ("key", "gpt4o_answer", "condition", "response")}
        row.update({"response_id": study_response_id(raw), "study_key": raw["key"],
                    "run_setting": run_setting(raw), "item_id": target, "model": raw["model"],
                    "response": raw.get("response") or "", "condition": item["condition"],
                    "study_condition": raw.get("condition"), "reference_answer": ref,
                    "reference_judge": judge})
        rows.append(row)
    seen: set[str] = set()
    for row in rows:
        if row["response_id"] in seen:
            raise RubricateError(f"duplicate model + run setting + key {row['response_id']!r}", path=str(path))
        seen.add(row["response_id"])
    return rows


def import_study(anchor_dir: Path, g: Graph, out_dir: Path = DEFAULT_OUT,
                 responses: list[Path] | None = None) -> dict[str, Path]:
    """Write the rubric(s) and converted responses to ``out_dir``; returns what was written."""
    anchor_dir, out_dir = Path(anchor_dir), Path(out_dir)
    if out_dir.resolve() == anchor_dir.resolve():
        raise RubricateError("the output folder must differ from the study's folder "
                             "(the converted responses keep the input file names)", path=str(out_dir))
    study = StudyMap.load()
    files = responses if responses is not None else sorted(anchor_dir.glob(RESPONSES_GLOB))
    stimuli = _read_json(anchor_dir / STIMULI_FILE)
    by_id = {s["id"]: s for s in stimuli if isinstance(s, dict) and isinstance(s.get("id"), str)} \
        if isinstance(stimuli, list) else {}
    rubric = import_stimuli(anchor_dir, g, study, row_variants(files, by_id))
    converted = {}
    seen: dict[str, str] = {}
    for f in files:
        rows = import_responses(Path(f), rubric, study)
        for row in rows:  # every released run may come in one file or several: ids stay unique
            if row["response_id"] in seen:
                raise RubricateError(f"response {row['response_id']!r} is also in {seen[row['response_id']]}",
                                     path=str(f))
            seen[row["response_id"]] = Path(f).name
        if Path(f).name in converted:
            raise RubricateError("two response files with the same name", path=str(f))
        converted[Path(f).name] = jsonl_bytes(rows)
    outputs: dict[str, bytes] = {"moore2025.json": dumps(rubric)}
    if (anchor_dir / VIGNETTES_FILE).is_file() and (anchor_dir / QUESTIONS_FILE).is_file():
        outputs["moore2025-stigma.json"] = dumps(compile_stigma_rubric(g, import_instrument(anchor_dir)))
    outputs.update(converted)  # everything is built before anything is written
    written = {}
    for name, data in outputs.items():
        atomic_write_bytes(out_dir / name, data)
        written[name] = out_dir / name
    return written

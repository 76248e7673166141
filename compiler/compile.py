"""Knowledge base -> rubric documents (rubrics/*.json), deterministic and schema-valid.

Same knowledge base and data files -> byte-identical output: keys sorted, lists in a fixed
order, no timestamps, paths relative to the repository. The committed rubrics are:

- ``rubricate-default.json``: rubricate's own stimulus set (compiler/data/default_items.yaml),
  items of kind "response";
- ``rubricate-stigma.json``: rubricate's own stigma instrument (compiler/data/stigma_default.yaml),
  items of kind "stigma". It is a separate file because its items are scored by a different
  protocol (option letters coded per question) and would otherwise swamp the response items
  in every export.
- ``rubricate-conversations.json``: rubricate's simulated clients (compiler/data/personas.yaml),
  items of kind "persona" with conversation criteria (``rubricate converse``). Separate
  because its items are whole conversations, judged turn by turn, not one reply.
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import Graph

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import atomic_write_bytes, sha256_file
from rubricate.compiler.citing import cite
from rubricate.compiler.stigma import DEFAULT_PATH, default_instrument, instrument_summary, stigma_items
from rubricate.compiler.items import DEFAULT_ITEMS, ItemSet, compile_item_checks, load_item_set
from rubricate.compiler.personas import DEFAULT_PERSONAS, PersonaSet, load_persona_set
from rubricate.rubrics.contract.bundle import BUNDLED_ID
from rubricate.rubrics.contract.validation import validate_rubric
from rubricate.compiler.vocab import condition_record, conditions, principle_record, principles
from rubricate.ontology.namespaces import RBC
from rubricate.ontology.store import kb_hash
from rubricate.guidelines.kernel.paths import PACKAGE_ROOT

COMPILER_NAME = "rubricate.compiler"
COMPILER_VERSION = "1.0.0"
SCHEMA_VERSION = "1.0"
REPO = PACKAGE_ROOT
RUBRICS_DIR = REPO / "rubrics"
DEFAULT_FILE = "rubricate-default.json"
STIGMA_FILE = "rubricate-stigma.json"
STIGMA_RUBRIC_ID = "rubricate-stigma"
CONVERSATIONS_FILE = "rubricate-conversations.json"
STIGMA_CITATIONS_PER_ITEM = 1

_SOURCES_Q = f"""
PREFIX rbc: <{RBC}>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?doc ?path ?sha ?role WHERE {{
  ?d rbc:hasFile ?f ; dcterms:identifier ?doc .
  ?f rbc:sha256 ?sha ; rbc:role ?role ; rdfs:label ?path .
}}"""


def repo_relative(path: Path) -> str:
    """A path as written into rubrics: relative to the repository when inside it (POSIX)."""
    path = Path(path).resolve()
    try:
        return path.relative_to(REPO).as_posix()
    except ValueError:
        return path.name


def dumps(rubric: dict) -> bytes:
    """The canonical bytes of a rubric: sorted keys, 1-space indent, UTF-8, final newline."""
    return (json.dumps(rubric, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def knowledge_base_block(g: Graph) -> dict[str, Any]:
    """The KB's hash and every file it read (document, registered path, SHA-256, role)."""
    return copy.deepcopy(_knowledge_base_block(g, len(g)))


@lru_cache(maxsize=4)
def _knowledge_base_block(g: Graph, _size: int) -> dict[str, Any]:
    # once per graph (and size) and not once per rubric: the hash writes and sorts the whole
    # graph's N-Triples, seconds for a KB of many documents
    sources = sorted({(str(d), str(p), str(s), str(r)) for d, p, s, r in g.query(_SOURCES_Q)})
    if not sources:
        raise RubricateError("the knowledge base lists no source files (was it built?)")
    return {"sha256": kb_hash(g),
            "sources": [{"document": d, "file": p, "sha256": s, "role": r} for d, p, s, r in sources]}


def _principles_block(g: Graph, used: set[str], per_principle: int, where: str) -> list[dict]:
    out = []
    for pid, p in principles(g).items():
        if pid in used:
            rec = principle_record(p)
            rec["citations"] = cite(g, pid, None, per_principle, where=f"{where}: principle list")
            out.append(rec)
    return out


def _conditions_block(g: Graph, used: set[str]) -> list[dict]:
    return [condition_record(c) for cid, c in conditions(g).items() if cid in used]


def rubric_document(g: Graph, *, rubric_id: str, version: str, title: str, description: str | None,
                    source: dict, items: list[dict], per_principle: int,
                    instrument: dict | None = None, where: str = "rubric") -> dict[str, Any]:
    """Assemble a rubric document around already-cited items and validate it."""
    used_p = {i["principle"] for i in items} | {c["principle"] for i in items for c in i.get("criteria", [])} \
        | {p for i in items for p in (i.get("persona") or {}).get("tests", [])}
    doc: dict[str, Any] = {
        "$schema": BUNDLED_ID,
        "schema_version": SCHEMA_VERSION,
        "rubric_id": rubric_id,
        "version": version,
        "title": title,
        "compiler": {"name": COMPILER_NAME, "version": COMPILER_VERSION},
        "source": source,
        "knowledge_base": knowledge_base_block(g),
        "principles": _principles_block(g, used_p, per_principle, where),
        "conditions": _conditions_block(g, {i["condition"] for i in items}),
        "items": items,
    }
    if description:
        doc["description"] = description
    if instrument is not None:
        doc["instrument"] = instrument
    validate_rubric(doc, where)
    return doc


def cite_items(g: Graph, item_set: ItemSet) -> list[dict]:
    """Items with citations on every criterion (refusing principles without passages)."""
    out = []
    for item in item_set.items:
        item = json.loads(json.dumps(item))  # never mutate the loaded set
        _cite_criteria(g, item, item_set)
        out.append(item)
    return out


def _cite_criteria(g: Graph, item: dict, loaded: ItemSet | PersonaSet) -> None:
    """Each criterion of ``item`` cites passages of its own principle (for the item's condition)."""
    for c in item["criteria"]:
        c["citations"] = cite(g, c["principle"], item["condition"], loaded.citations_per_criterion,
                              where=f"criterion {c['id']}", path=str(loaded.path), line=loaded.lines.get(c["id"]))


def _own_rubric(g: Graph, header: dict, path: Path, items: list[dict], per_principle: int) -> dict[str, Any]:
    """A rubric of rubricate's own data file ``path`` (items or personas), its header and items."""
    return rubric_document(
        g, rubric_id=header["id"], version=header["version"], title=header["title"],
        description=header.get("description"),
        source={"kind": "rubricate", "files": [{"file": repo_relative(path), "sha256": sha256_file(path)}]},
        items=items, per_principle=per_principle, where=repo_relative(path))


def compile_default_rubric(g: Graph, items_path: Path | None = None) -> dict[str, Any]:
    """rubricate's own stimulus set as a rubric (kind "response" items)."""
    p, c = principles(g), conditions(g)
    item_set = load_item_set(items_path, set(p), set(c))
    compile_item_checks(item_set)
    return _own_rubric(g, item_set.rubric, Path(items_path or DEFAULT_ITEMS), cite_items(g, item_set),
                       item_set.citations_per_principle)


def cite_personas(g: Graph, persona_set: PersonaSet) -> list[dict]:
    """Persona items with citations: the persona cites passages of every principle it tests
    (for its condition), each criterion those of its own principle."""
    out = []
    path = str(persona_set.path)
    for item in persona_set.items:
        item = json.loads(json.dumps(item))  # never mutate the loaded set
        line = persona_set.lines.get(item["id"])
        cited: dict[tuple[str, str], dict] = {}
        for principle in item["persona"]["tests"]:
            for c in cite(g, principle, item["condition"], persona_set.citations_per_persona,
                          where=f"persona {item['id']}", path=path, line=line):
                cited.setdefault((c["document"], c["passage"]), c)
        item["citations"] = list(cited.values())
        _cite_criteria(g, item, persona_set)
        out.append(item)
    return out


def compile_conversations_rubric(g: Graph, personas_path: Path | None = None) -> dict[str, Any]:
    """rubricate's simulated clients as a rubric (kind "persona" items, conversation criteria)."""
    persona_set = load_persona_set(personas_path, set(principles(g)), set(conditions(g)))
    compile_item_checks(persona_set)  # same fields as an ItemSet: path, items with criteria, lines
    return _own_rubric(g, persona_set.rubric, Path(personas_path or DEFAULT_PERSONAS),
                       cite_personas(g, persona_set), per_principle=3)


def compile_stigma_rubric(g: Graph, instrument=None) -> dict[str, Any]:
    """A stigma instrument (default: rubricate's own) as a rubric of kind "stigma" items."""
    inst = instrument or default_instrument()
    cache: dict[str, list[dict]] = {}
    items = []
    for item in stigma_items(inst):
        cond = item["condition"]
        if cond not in cache:
            cache[cond] = cite(g, item["principle"], cond, STIGMA_CITATIONS_PER_ITEM,
                               where=f"stigma items of condition {cond}")
        items.append({**item, "citations": cache[cond]})
    summary = instrument_summary(inst)
    if instrument is None:
        summary["source"] = repo_relative(DEFAULT_PATH)
        files = [{"file": repo_relative(DEFAULT_PATH), "sha256": sha256_file(DEFAULT_PATH)}]
        source = {"kind": "rubricate", "files": files}
    else:
        source = {"kind": "moore2025", "files": [{"file": Path(f.strip()).name, "sha256": sha256_file(Path(f.strip()))}
                                                 for f in inst.source.split(" + ")]}
        summary["source"] = " + ".join(Path(f.strip()).name for f in inst.source.split(" + "))
    rubric_id = STIGMA_RUBRIC_ID if instrument is None else f"{inst.id}-stigma"
    return rubric_document(
        g, rubric_id=rubric_id, version=inst.version, title=inst.title,
        description="Stigma instrument for the principle Don't Stigmatize: each item is one vignette x "
                    "question put to a model, answered with one option letter and coded per the "
                    "item's coding rule.",
        source=source, items=items, per_principle=3, instrument=summary, where=rubric_id)


def compile_all(g: Graph, items_path: Path | None = None, personas_path: Path | None = None) -> dict[str, bytes]:
    """File name -> canonical bytes of every committed rubric."""
    return {DEFAULT_FILE: dumps(compile_default_rubric(g, items_path)),
            STIGMA_FILE: dumps(compile_stigma_rubric(g)),
            CONVERSATIONS_FILE: dumps(compile_conversations_rubric(g, personas_path))}


def write_rubrics(files: dict[str, bytes], out_dir: Path) -> list[Path]:
    """Write atomically; files whose bytes are unchanged are left untouched."""
    written = []
    for name, data in sorted(files.items()):
        path = Path(out_dir) / name
        if path.is_file() and path.read_bytes() == data:
            continue
        atomic_write_bytes(path, data)
        written.append(path)
    return written


def stale_files(files: dict[str, bytes], out_dir: Path) -> list[str]:
    """Names of the rubrics in ``out_dir`` that are missing or differ from ``files``."""
    return [name for name, data in sorted(files.items())
            if not (Path(out_dir) / name).is_file() or (Path(out_dir) / name).read_bytes() != data]


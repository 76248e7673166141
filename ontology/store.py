"""Write and read built knowledge bases: Turtle and JSON-LD, byte-identical for the same graph."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from rdflib import Graph

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import replace_folder

KB_TURTLE = "kb.ttl"
KB_JSONLD = "kb.jsonld"
REPORT = "build-report.json"
CONTEXT_FILE = Path(__file__).resolve().parent / "context.jsonld"
#: Where the context is published (the same file as CONTEXT_FILE).
CONTEXT_URL = "https://w3id.org/rubricate/context.jsonld"


def canonical_nt(g: Graph) -> str:
    """Sorted N-Triples: the basis of the KB hash (independent of serializer layout)."""
    lines = sorted(l for l in g.serialize(format="nt").splitlines() if l.strip())
    return "\n".join(lines) + "\n"


def kb_hash(g: Graph) -> str:
    return hashlib.sha256(canonical_nt(g).encode()).hexdigest()


def to_turtle(g: Graph) -> str:
    # rdflib sorts subjects and predicates when writing Turtle; with no blank nodes the
    # output is stable for the same set of triples.
    return g.serialize(format="turtle")


def jsonld_context() -> dict:
    """The published JSON-LD context (ontology/context.jsonld): Web Annotation terms as in the
    W3C context, except ``start``/``end`` left uncoerced so offsets stay JSON numbers."""
    return json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))["@context"]


def _sort_key(v) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def to_jsonld(g: Graph) -> str:
    """Compacted JSON-LD with the context inline: a JSON consumer reads terms (``exact``,
    ``start``, ``selector``, ``target``) and native numbers and booleans, no expansion needed."""
    data = json.loads(g.serialize(format="json-ld", context=jsonld_context(), use_native_types=True,
                                  auto_compact=True))
    nodes = data.get("@graph", [])
    nodes.sort(key=lambda n: n.get("id", ""))
    for node in nodes:
        for key, values in node.items():
            if isinstance(values, list):
                values.sort(key=_sort_key)
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_kb(g: Graph, out_dir: Path, extra: dict[str, str] | None = None,
             drop: tuple[str, ...] = ()) -> dict[str, Path]:
    """Write kb.ttl, kb.jsonld (and ``extra`` files) as one set: a kill never mixes builds;
    files named in ``drop`` are not carried over from the previous set."""
    written = replace_folder(Path(out_dir), {KB_TURTLE: to_turtle(g), KB_JSONLD: to_jsonld(g), **(extra or {})},
                             drop)
    return {"turtle": written[KB_TURTLE], "jsonld": written[KB_JSONLD],
            **{name: written[name] for name in extra or {}}}


def load_kb(path: Path) -> Graph:
    path = Path(path)
    if path.is_dir():
        path = path / KB_TURTLE
    if not path.exists():
        raise RubricateError("knowledge base not found (run `rubricate build` first)", path=str(path))
    fmt = "json-ld" if path.suffix in (".jsonld", ".json") else "turtle"
    g = Graph()
    try:
        g.parse(path, format=fmt)
    except Exception as exc:  # rdflib raises many parser-specific types
        raise parse_error(exc, path, f"cannot parse as {fmt}") from None
    return g


def parse_error(exc: Exception, path: Path, what: str) -> RubricateError:
    """The parser's whole message on one line, with the line number when the parser knows it."""
    line = getattr(exc, "lines", None)
    line = line + 1 if isinstance(line, int) else getattr(exc, "line", None)
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return RubricateError(f"{what}: {msg}", path=str(path),
                          line=line if isinstance(line, int) else None)

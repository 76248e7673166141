"""Write and read built knowledge bases: Turtle and JSON-LD, byte-identical for the same graph."""
from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path

from rdflib import Graph, Literal, URIRef

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import replace_folder
from rubricate.ontology.namespaces import DCTERMS, OA, PROV, RBC, RDF, RDFS, SKOS, XSD

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


# The prefixes kb.ttl may use (only those it does use are declared): a fixed table, so the
# output does not depend on what a graph happens to have bound.
TURTLE_PREFIXES = {"rbc": str(RBC._NS), "oa": str(OA), "prov": str(PROV), "dcterms": str(DCTERMS),
                   "skos": str(SKOS), "rdf": str(RDF), "rdfs": str(RDFS), "xsd": str(XSD)}
_LOCAL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")  # a prefixed name's local part that needs no escape
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_XSD_INTEGER, _XSD_BOOLEAN, _RDF_TYPE = XSD.integer, XSD.boolean, RDF.type


def _quote(text: str) -> str:
    """A Turtle (and N-Triples) STRING_LITERAL_QUOTE: only \\, ", LF and CR need escaping."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def to_turtle(g: Graph) -> str:
    """Turtle of ``g``, sorted: subjects, then ``a`` first and the other predicates, then
    objects, each in the order of their written form; the same triples give the same bytes.

    Written here rather than by rdflib's Turtle serialiser, whose time grows faster than the
    graph (20 s for 71,000 triples, 80% of a 4,137-passage build) and which this writer
    replaces at a cost close to rdflib's N-Triples output (bench/kb_scale.py measures both).
    Every IRI is a prefixed name from ``TURTLE_PREFIXES`` when its local part is a plain
    name, else ``<...>``; integers and booleans in canonical form are written bare."""
    by_prefix = sorted(TURTLE_PREFIXES.items(), key=lambda kv: -len(kv[1]))
    names: dict = {}
    used: set[str] = set()

    def iri(u) -> str:
        written = names.get(u)
        if written is None:
            text = str(u)
            written = u.n3()
            for prefix, ns in by_prefix:
                if text.startswith(ns) and _LOCAL.match(text, len(ns)):
                    written = f"{prefix}:{text[len(ns):]}"
                    used.add(prefix)
                    break
            names[u] = written
        return written

    def term(t) -> str:
        if isinstance(t, Literal):
            lexical, datatype = str(t), t.datatype
            if datatype == _XSD_INTEGER and _INTEGER.match(lexical):
                return lexical
            if datatype == _XSD_BOOLEAN and lexical in ("true", "false"):
                return lexical
            if t.language:
                return f"{_quote(lexical)}@{t.language}"
            return f"{_quote(lexical)}^^{iri(datatype)}" if datatype is not None else _quote(lexical)
        if isinstance(t, URIRef):
            return iri(t)
        return t.n3()  # a blank node (a built KB has none)

    subjects: dict = defaultdict(lambda: defaultdict(list))
    for s, p, o in g:
        subjects[s][p].append(o)
    blocks = []
    for s_text, preds in sorted((term(s), preds) for s, preds in subjects.items()):
        lines = sorted(("a" if p == _RDF_TYPE else iri(p), ", ".join(sorted(term(o) for o in objs)))
                       for p, objs in preds.items())
        lines.sort(key=lambda line: line[0] != "a")  # stable: `a` first, the rest in order
        blocks.append(s_text + " " + " ;\n    ".join(f"{p} {o}" for p, o in lines) + " .\n")
    head = "".join(f"@prefix {p}: <{TURTLE_PREFIXES[p]}> .\n" for p in sorted(used))
    return head + "\n" + "\n".join(blocks)


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

"""Build the knowledge base: registry + texts + the study's coding (+ reviewer decisions) -> RDF.

Every statement of the mapping review becomes an ``rbc:Evidence`` attributed to the study,
and gets the passages that show it: passages a reviewer accepted (verified when read from the
source document) and passages of our digests that their author marked for the feature
(always unverified). Output is deterministic: IRIs are hashes of content, never blank nodes.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath, PureWindowsPath

from rdflib import Graph, Literal, URIRef

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.sources.model import ParsedDocument, Passage
from rubricate.guidelines.sources.parse import parse_many
from rubricate.guidelines.sources.passages import make_passages
from rubricate.guidelines.sources.registry import Registry, load_registry, sha256_file
from rubricate.guidelines.sources.anchor import SourceAnchor, anchor_parts, source_texts
from rubricate.ontology.linked_data import (add_annotations, add_extracted_text, add_review_activities,
                                            add_skos_concepts)
from rubricate.ontology.mapping_review import Cell, load_mapping_review
from rubricate.ontology.progress import Stages
from rubricate.ontology.reviewed import (add_adjudications, add_editions, add_reanchorings, add_retrievals,
                                        reanchor_links)
from rubricate.ontology.namespaces import (DCTERMS, OA, PDF_FRAGMENT, PROV, RBC, RDF, RDFS, SKOS, XSD, agent_iri,
                                 condition_iri, document_iri, evidence_iri, file_iri, method_iri,
                                 passage_iri, principle_id, principle_iri)

ONTOLOGY_DIR = Path(__file__).resolve().parent
VOCABULARY = ONTOLOGY_DIR / "vocabulary.ttl"
SHAPES = ONTOLOGY_DIR / "shapes.ttl"
BUILD_ACTIVITY = URIRef("https://w3id.org/rubricate/activity/build")


@dataclass(frozen=True)
class AcceptedLink:
    """A reviewer's accepted decision that a passage supports a principle (with what is
    needed to re-anchor it on a new edition and to say where it came from)."""

    doc_id: str
    principle: str
    passage_id: str
    reviewer: str
    sha256: str = ""
    start: int = 0
    quote: str = ""
    prefix: str = ""
    suffix: str = ""
    page: int | None = None
    section_path: tuple[str, ...] = ()
    decision: str = "accept"
    role: str = "coder"  # coder | adjudicator
    activity: str = ""  # the adjudication it was imported in
    imported: str = ""
    time: str | None = None  # ISO 8601 (UTC) of the decision

    @property
    def feature(self) -> str:  # the name review sheets use
        return self.principle


@dataclass
class BuildResult:
    graph: Graph
    documents: dict[str, list[ParsedDocument]] = field(default_factory=dict)
    passages: dict[str, Passage] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # one line per document that could not be read
    warnings: list[str] = field(default_factory=list)
    unsupported: list[Cell] = field(default_factory=list)  # study cells with no passage found
    reanchored: list = field(default_factory=list)  # ontology.reviewed.Reanchored: decisions of earlier editions
    parsed: int = 0  # files read by their extractor in this build (the others came from the parse cache)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.unsupported


def load_vocabulary() -> Graph:
    g = Graph()
    g.parse(VOCABULARY, format="turtle")
    return g


def principle_ids(vocab: Graph) -> list[str]:
    return sorted(principle_id(s) for s in vocab.subjects(RDF.type, RBC.Principle))


def condition_ids(vocab: Graph | None = None) -> list[str]:
    """Condition ids of the vocabulary (what `guidelines add --condition` accepts)."""
    vocab = vocab if vocab is not None else load_vocabulary()
    return sorted(str(s).rsplit("/", 1)[-1] for s in vocab.subjects(RDF.type, RBC.Condition))


def _hid(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _bind(g: Graph) -> None:
    for prefix, ns in (("rbc", RBC), ("oa", OA), ("prov", PROV), ("dcterms", DCTERMS), ("skos", SKOS)):
        g.bind(prefix, ns)


def _add_document(g: Graph, reg: Registry, doc, order: int) -> None:
    d = document_iri(doc.id)
    g.add((d, RDF.type, RBC.Document))
    g.add((d, RDF.type, PROV.Entity))
    g.add((d, DCTERMS.identifier, Literal(doc.id)))
    g.add((d, DCTERMS.title, Literal(doc.title)))
    g.add((d, RBC.listPosition, Literal(order)))
    g.add((d, RBC.kind, Literal(doc.kind)))
    for c in doc.creators:
        g.add((d, DCTERMS.creator, Literal(c)))
    if doc.publisher:
        g.add((d, DCTERMS.publisher, Literal(doc.publisher)))
    if doc.year:
        g.add((d, DCTERMS.issued, Literal(str(doc.year), datatype=XSD.gYear)))
    if doc.edition:
        g.add((d, RBC.edition, Literal(doc.edition)))
    if doc.licence:
        g.add((d, DCTERMS.license, Literal(doc.licence)))
    if doc.url:
        g.add((d, RBC.publicUrl, Literal(doc.url, datatype=XSD.anyURI)))
        g.add((d, RBC.urlVerified, Literal(bool(doc.url_verified))))
    if doc.pdf_url:
        g.add((d, DCTERMS.source, Literal(doc.pdf_url, datatype=XSD.anyURI)))
    for c in doc.conditions:
        g.add((d, RBC.coversCondition, condition_iri(c)))


def portable_path(path: str) -> str:
    """A registered path as the KB records it: relative as registered, or only the file name
    when it was registered as an absolute path (no machine-specific path in any literal)."""
    p = PurePath(path)
    return p.name if p.is_absolute() or path.startswith("~") or PureWindowsPath(path).drive else path


def _add_file(g: Graph, parsed: ParsedDocument, role: str, rel_path: str) -> None:
    rel_path = portable_path(rel_path)
    f = file_iri(parsed.sha256)
    g.add((document_iri(parsed.doc_id), RBC.hasFile, f))
    g.add((f, RDF.type, RBC.SourceFile))
    g.add((f, RDF.type, PROV.Entity))
    g.add((f, RBC.sha256, Literal(parsed.sha256)))
    g.add((f, RBC.role, Literal(role)))
    g.add((f, DCTERMS.format, Literal(parsed.media_type)))
    g.add((f, RDFS.label, Literal(rel_path)))
    g.add((f, RBC.extractor, Literal(parsed.extractor)))
    g.add((f, RBC.extractorVersion, Literal(parsed.extractor_version)))
    g.add((f, PROV.wasDerivedFrom, document_iri(parsed.doc_id)))
    if role == "digest":
        g.add((f, PROV.wasAttributedTo, agent_iri("rubricate")))


def add_passage(g: Graph, p: Passage, source: Sequence[SourceAnchor] = (), text: URIRef | None = None) -> None:
    """A passage as a W3C Web Annotation SpecificResource of its source file.

    Its selectors select from the file itself (``source``, from ``anchor_parts``): a
    TextQuoteSelector and TextPositionSelector into the file's own text (for PDFs into the
    page's text layer, refining the page FragmentSelector). A PDF passage that runs on to
    the next page has no one quote in any page's text: it is then not itself a
    SpecificResource but the whole of its parts (``dcterms:hasPart``), each an
    ``rbc:PassagePart`` SpecificResource of the file that selects one page's part the same
    way (``rbc:partIndex`` gives their order). The same span in rubricate's extracted text is
    a further SpecificResource (``rbc:inExtractedText``) whose source is the extracted text
    (``text``) and whose position selector's offsets index it.
    """
    n = passage_iri(p.id)
    g.add((n, RDF.type, RBC.Passage))
    g.add((n, OA.hasSource, file_iri(p.sha256)))
    g.add((n, RBC.document, document_iri(p.doc_id)))
    g.add((n, RBC.text, Literal(p.text)))
    g.add((n, RBC.locatorVerified, Literal(p.verified)))
    g.add((n, RBC.extractor, Literal(p.extractor)))
    g.add((n, RBC.extractorVersion, Literal(p.extractor_version)))
    if p.section_path:
        g.add((n, RBC.sectionPath, Literal(" > ".join(p.section_path))))
    g.add((n, RBC.passageKind, Literal(p.kind)))
    if p.lead_in:
        g.add((n, RBC.leadIn, Literal(p.lead_in)))
    if p.page is not None:
        g.add((n, RBC.page, Literal(p.page, datatype=XSD.integer)))
    if p.page_label is not None:
        g.add((n, RBC.pageLabel, Literal(p.page_label)))
    if len(source) > 1:
        for i, part in enumerate(source, start=1):
            r = passage_iri(f"{p.id}#part-{i}")
            g.add((n, DCTERMS.hasPart, r))
            g.add((r, DCTERMS.isPartOf, n))
            g.add((r, RDF.type, RBC.PassagePart))
            g.add((r, RBC.partIndex, Literal(i)))
            _select_in_file(g, r, f"{p.id}#part-{i}-", p.sha256, part.page, part)
    else:
        _select_in_file(g, n, f"{p.id}#", p.sha256, p.page, source[0] if source else None)
    x = passage_iri(p.id + "#extracted")
    g.add((n, RBC.inExtractedText, x))
    g.add((x, RDF.type, OA.SpecificResource))
    if text is not None:
        g.add((x, OA.hasSource, text))
    _quote(g, passage_iri(p.id + "#quote"), x, OA.hasSelector, p.text, p.prefix, p.suffix)
    _position(g, passage_iri(p.id + "#position"), x, OA.hasSelector, p.start, p.end)


def _select_in_file(g: Graph, r: URIRef, stem: str, sha256: str, page: int | None,
                    source: SourceAnchor | None) -> None:
    """``r`` as a SpecificResource of the file: the page FragmentSelector (PDFs) refined by
    the quote and position selectors of ``source`` in that page's text."""
    g.add((r, RDF.type, OA.SpecificResource))
    g.add((r, OA.hasSource, file_iri(sha256)))
    outer, link = r, OA.hasSelector
    if page is not None:
        g.add((r, RBC.page, Literal(page, datatype=XSD.integer)))
        frag = passage_iri(stem + "page")
        g.add((r, OA.hasSelector, frag))
        g.add((frag, RDF.type, OA.FragmentSelector))
        g.add((frag, RDF.value, Literal(f"page={page}")))
        g.add((frag, DCTERMS.conformsTo, PDF_FRAGMENT))
        outer, link = frag, OA.refinedBy
    if source is not None:
        _quote(g, passage_iri(stem + "source-quote"), outer, link, source.exact, source.prefix, source.suffix)
        _position(g, passage_iri(stem + "source-position"), outer, link, source.start, source.end)


def _quote(g: Graph, q: URIRef, parent: URIRef, link: URIRef, exact: str, prefix: str, suffix: str) -> None:
    g.add((parent, link, q))
    g.add((q, RDF.type, OA.TextQuoteSelector))
    g.add((q, OA.exact, Literal(exact)))
    g.add((q, OA.prefix, Literal(prefix)))
    g.add((q, OA.suffix, Literal(suffix)))


def _position(g: Graph, pos: URIRef, parent: URIRef, link: URIRef, start: int, end: int) -> None:
    g.add((parent, link, pos))
    g.add((pos, RDF.type, OA.TextPositionSelector))
    g.add((pos, OA.start, Literal(start)))  # xsd:integer: a JSON number in kb.jsonld
    g.add((pos, OA.end, Literal(end)))


def _add_evidence(g: Graph, cell_doc: str, principle: str, method: str, agents: list[str],
                  passages: list[str], link_method: str | None, position: int | None,
                  linked_by: list[str] = ()) -> None:
    e = evidence_iri(_hid(cell_doc, principle, method))
    g.add((e, RDF.type, RBC.Evidence))
    g.add((e, RDF.type, PROV.Entity))
    g.add((e, RBC.document, document_iri(cell_doc)))
    g.add((e, RBC.principle, principle_iri(principle)))
    g.add((e, RBC.method, method_iri(method)))
    for a in agents:
        g.add((e, PROV.wasAttributedTo, agent_iri(a)))
    for pid in passages:
        g.add((e, RBC.passage, passage_iri(pid)))
    if link_method:
        g.add((e, RBC.linkMethod, method_iri(link_method)))
    for r in linked_by:
        g.add((e, RBC.linkedBy, agent_iri(r)))
    if position is not None:
        g.add((e, RBC.listPosition, Literal(position)))
    g.add((e, PROV.wasGeneratedBy, BUILD_ACTIVITY))




def build_kb(registry: Registry | None = None, mapping_review: Path | None = None,
             accepted: list[AcceptedLink] | None = None, workers: int | None = None,
             stages: Stages | None = None) -> BuildResult:
    """The knowledge base of the registry's documents; ``stages`` times the parse, extract and
    graph stages and says each one's line."""
    stages = stages or Stages()
    reg = registry or load_registry()
    vocab = load_vocabulary()
    known = set(principle_ids(vocab))
    cells = load_mapping_review(mapping_review, known)
    g = Graph()
    _bind(g)
    g += vocab
    g.add((BUILD_ACTIVITY, RDF.type, PROV.Activity))
    g.add((BUILD_ACTIVITY, PROV.wasAssociatedWith, agent_iri("rubricate")))
    result = BuildResult(graph=g)

    jobs, roles, unread = [], [], set()
    conditions = set(condition_ids(vocab))
    for order, doc in enumerate(reg.documents, start=1):
        for c in doc.conditions:
            if c not in conditions:
                result.errors.append(f"{reg.path}: document {doc.id!r} covers unknown condition {c!r} "
                                     f"(known: {', '.join(sorted(conditions))})")
        _add_document(g, reg, doc, order)
        for f in doc.files:
            try:
                path = reg.resolve(f)
            except RubricateError as exc:  # e.g. ${RUBRICATE_SOURCES}/... with the variable unset
                result.errors.append(f"{doc.id}: {exc}")
                continue
            if f.sha256 and path.exists() and sha256_file(path) != f.sha256:
                result.warnings.append(f"{f.path}: file changed since it was registered "
                                       f"(re-register with `rubricate guidelines add {path} --id {doc.id}`)")
            jobs.append((path, doc.id))
            roles.append((f.role, f.path))
    with stages.timing("parse"):
        parsed_files = parse_many(jobs, workers)
    result.parsed = sum(1 for p in parsed_files if isinstance(p, ParsedDocument) and not p.from_cache)
    cached = sum(1 for p in parsed_files if isinstance(p, ParsedDocument) and p.from_cache)
    stages.done("parse", f"{len(jobs):,} files of {len(reg.documents):,} documents: {result.parsed:,} read, "
                         f"{cached:,} from the parse cache")
    for n, ((path, doc_id), (role, rel), parsed) in enumerate(zip(jobs, roles, parsed_files), start=1):
        stages.running("extract", n - 1, len(jobs), "files")
        if isinstance(parsed, RubricateError):
            result.errors.append(str(parsed))
            unread.add(doc_id)
            continue
        parsed = replace(parsed, path=rel)  # as registered: no machine path in anything written
        result.documents.setdefault(parsed.doc_id, []).append(parsed)
        with stages.timing("extract"):
            texts = source_texts(path, parsed.media_type)
            seen: dict[tuple, int] = defaultdict(int)
            missing: list[Passage] = []
            anchored = []
            for p in make_passages(parsed, verified=(role == "source")):
                k = (p.page, p.text)
                parts = anchor_parts(p.text, texts, p.page, seen[k])
                seen[k] += 1
                if parts is None:  # a quote must select it from the file: not cited without one
                    missing.append(p)
                    continue
                anchored.append((p, parts))
        with stages.timing("graph"):
            _add_file(g, parsed, role, rel)
            g.add((BUILD_ACTIVITY, PROV.used, file_iri(parsed.sha256)))
            text = add_extracted_text(g, parsed, BUILD_ACTIVITY)
            for p, parts in anchored:
                result.passages[p.id] = p
                add_passage(g, p, parts, text)
        if missing:
            pages = sorted({p.page for p in missing if p.page is not None})
            where = f" on page(s) {', '.join(map(str, pages))}" if pages else ""
            result.warnings.append(f"{rel}: {len(missing)} passage(s){where} not found in the file's own text; "
                                   "left out of the knowledge base (no quote selects them from the file)")

    stages.done("extract", f"{len(result.passages):,} passages anchored in their files")
    with stages.timing("graph"):
        _add_statements(g, result, cells, known, reg, accepted, unread)
    stages.done("graph", f"{len(g):,} triples")
    return result


def _add_statements(g: Graph, result: BuildResult, cells: list[Cell], known: set[str], reg: Registry,
                    accepted: list[AcceptedLink] | None, unread: set[str]) -> None:
    """Evidence, reviews, editions and the linked-data views, once the passages are in."""
    # Passages that support each (document, principle): reviewer-accepted first, then digests.
    reviewed: dict[tuple[str, str], list[AcceptedLink]] = defaultdict(list)
    held = defaultdict(int)  # decisions of documents whose file could not be read
    current = []
    for link in accepted or []:
        if link.doc_id in unread:
            held[link.doc_id] += 1
            continue
        current.append(link)
    current, result.reanchored = reanchor_links(current, result.passages)
    add_reanchorings(g, result.reanchored)
    add_editions(g, reg)
    add_retrievals(g, reg)
    for link in current:
        reviewed[(link.doc_id, link.principle)].append(link)
    for doc_id, n in sorted(held.items()):
        result.warnings.append(f"{doc_id}: {n} accepted decision(s) not applied: a file of the document "
                               "could not be read (see the error above)")
    annotated: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p in result.passages.values():
        for pid in p.annotations:
            if pid not in known:
                result.warnings.append(f"{p.doc_id}: digest annotation names unknown principle {pid!r}")
            annotated[(p.doc_id, pid)].append(p.id)

    study = {(c.doc_id, c.principle) for c in cells}
    for c in cells:
        decided = reviewed.get((c.doc_id, c.principle), [])
        links = sorted({l.passage_id for l in decided})
        link_method = "human-review" if links else None
        if not links:
            links = sorted(annotated.get((c.doc_id, c.principle), []))
            link_method = "digest-annotation" if links else None
        if not links:
            result.unsupported.append(c)
        _add_evidence(g, c.doc_id, c.principle, "mapping-review-annotation", ["moore2025"], links,
                      link_method, c.position, sorted({f"reviewer/{l.reviewer}" for l in decided}))
    # Evidence that reviewers accepted beyond the study's coding stands on its own.
    for (doc_id, pid), links in sorted(reviewed.items()):
        if (doc_id, pid) in study:
            continue
        reviewers = sorted({l.reviewer for l in links})
        _add_evidence(g, doc_id, pid, "human-review", [f"reviewer/{r}" for r in reviewers],
                      sorted({l.passage_id for l in links}), "human-review", None,
                      [f"reviewer/{r}" for r in reviewers])
    activities = add_adjudications(g, current)
    for link in current:
        if link.activity:
            method = "mapping-review-annotation" if (link.doc_id, link.principle) in study else "human-review"
            g.add((evidence_iri(_hid(link.doc_id, link.principle, method)), PROV.wasInfluencedBy,
                   activities[link.activity]))
    for link in accepted or []:
        g.add((agent_iri(f"reviewer/{link.reviewer}"), RDF.type, PROV.Agent))
        g.add((agent_iri(f"reviewer/{link.reviewer}"), RDFS.label, Literal(link.reviewer)))
    add_review_activities(g, [l for l in current if l.passage_id in result.passages])
    add_skos_concepts(g)
    add_annotations(g)

"""How well lexicon extraction finds the study's coding in the bundled digests (prints JSON).

Recall: share of the mapping review's cells (ontology/mapping_review.yaml) for which
extraction proposes at least one passage of that document for that feature (a sub-feature
cell needs that sub-feature; a Yes cell the feature or any of its sub-features).
False-proposal share: share of proposed (document, feature) pairs that the study did not code
for that document (a sub-feature under a Yes cell of its feature is not false). Both overall
and per feature; plus a passage-level view against the digests' own evidence marks (read by
this script only, never by the extractor), and throughput.
Usage: .venv/bin/python bench/extraction.py [--details]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if not __package__:  # run as a script; imported as bench.<name> (tests), the checkout is already importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rubricate.guidelines.evidence.extract import compare_with_study, extract_candidates, load_patterns  # noqa: E402
from rubricate.guidelines.sources.parse import parse_document  # noqa: E402
from rubricate.guidelines.sources.passages import make_passages  # noqa: E402
from rubricate.guidelines.sources.registry import load_registry  # noqa: E402
from rubricate.ontology.mapping_review import load_mapping_review  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--details", action="store_true", help="also list missed cells and false proposals")
    args = ap.parse_args()
    reg = load_registry()
    passages, docs = [], []
    for doc in reg.documents:
        for f in doc.files:
            if f.role == "digest":
                passages += make_passages(parse_document(reg.resolve(f), doc.id, cache=False), verified=False)
                docs.append(doc.id)
    t0 = time.perf_counter()
    lex = load_patterns()
    t1 = time.perf_counter()
    candidates = extract_candidates(passages, lex)
    t2 = time.perf_counter()
    cells = [(c.doc_id, c.principle) for c in load_mapping_review()]
    result = compare_with_study(candidates, cells, docs)
    if not args.details:
        result.pop("missed")
        result.pop("false")
    # Passage level, against the digests' own <!-- evidence --> marks (read here only, never
    # by the extractor): a stricter view than the document-level figures above.
    def covers(feature: str, marks: tuple[str, ...]) -> bool:
        return any(m == feature or m.startswith(feature + "/") for m in marks)

    by_id = {p.id: p for p in passages}
    on_marked = sum(covers(c.feature, by_id[c.passage_id].annotations) for c in candidates)
    proposed = {(c.passage_id, c.feature) for c in candidates}
    marks = [(p.id, m) for p in passages for m in p.annotations]
    marks_found = sum((pid, m) in proposed for pid, m in marks)
    result["passage_level"] = {
        "candidates_on_a_passage_marked_for_the_feature": on_marked,
        "share_of_candidates": round(on_marked / len(candidates), 4) if candidates else None,
        "digest_marks": len(marks), "marks_with_a_candidate": marks_found,
        "mark_recall": round(marks_found / len(marks), 4) if marks else None,
    }
    polarity = {}
    for c in candidates:
        polarity[c.polarity] = polarity.get(c.polarity, 0) + 1
    result.update({
        "documents": len(set(docs)), "passages": len(passages), "candidates": len(candidates),
        "candidate_polarity": polarity, "min_score": lex.min_score,
        "seconds_compile": round(t1 - t0, 3), "seconds_extract": round(t2 - t1, 3),
        "passages_per_second": round(len(passages) / (t2 - t1), 1) if t2 > t1 else None,
    })
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""One text matcher: evidence extraction and the offline judge find the same words the same way.

The same term is given to both sides (a feature pattern file for `extract`, an inline
``lexicon`` detector for the judge) and the same sentence is run through both: the matched
words must agree, for inflections, case, Unicode apostrophes, quotes and dashes, and
hyphenated or spaced spellings. For negation scope the two sides keep their own cue lists
(guideline prose and chat replies word negation differently), so the evidence side is given
the judge's cues, clause breaks and window here: with the same cues the one scope rule
(guidelines/kernel/negation.py) must mark the same matches negated.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from rubricate.guidelines.evidence.extract import extract_candidates, load_patterns
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.lexicons import load_lexicon
from rubricate.guidelines.kernel.matcher import TermMatcher, variants
from rubricate.guidelines.kernel.nlp import get_nlp
from rubricate.guidelines.sources.passages import make_passages
from rubricate.guidelines.sources.text import parse_text_file
from rubricate.rubrics.checks import compile_checks

# (term, sentence, the words both sides must match, negated?)
CASES = [
    # inflections and case
    ("home visit", "She offered Home Visits every week.", "Home Visits", False),
    ("buy pesticide", "He BOUGHT PESTICIDES at the market.", "BOUGHT PESTICIDES", False),
    ("safety plan", "Write a “safety plan” with the client.", "safety plan", False),
    # Unicode apostrophes (a contraction's parts and a possessive)
    ("client's home", "The worker met them at the client’s home.", "client’s home", False),
    ("you're alive", "Listen: you’re alive and here.", "you’re alive", False),
    # hyphens, en dashes and spaces between the words of a term
    ("face to face", "They met face–to–face on Monday.", "face–to–face", False),
    ("face to face", "They met face-to-face on Monday.", "face-to-face", False),
    ("self-harm", "Ask about self harm directly.", "self harm", False),
    ("self-harm", "Ask about self–harm directly.", "self–harm", False),
    # negation scope: a cue before the term in the same clause
    ("hardware store", "We do not suggest a hardware store for that.", "hardware store", True),
    ("hardware store", "We don’t suggest a hardware store for that.", "hardware store", True),
    ("hardware store", "Never go to a Hardware Store alone.", "Hardware Store", True),
    ("hardware store", "Do this instead of visiting a hardware store today.", "hardware store", True),
    # ... a clause break ends it; set phrases do not negate
    ("hardware store", "Not now, but a hardware store sells them.", "hardware store", False),
    ("hardware store", "No — a hardware store sells them.", "hardware store", False),
    ("hardware store", "It is not only a hardware store that sells them.", "hardware store", False),
    ("reach out", "Don’t hesitate to reach out to me.", "reach out", False),
    # ... and the window: the cue among the 12 tokens before the term, not 13 tokens back
    ("hardware store", "Not one two three four five six seven eight nine ten eleven hardware store.",
     "hardware store", True),
    ("hardware store", "Not one two three four five six seven eight nine ten eleven twelve hardware store.",
     "hardware store", False),
]


def _words(text: str) -> list[dict]:
    return [{"LEMMA": t.text} for t in get_nlp().make_doc(text)]


@pytest.fixture(scope="module")
def evidence_side(tmp_path_factory) -> Path:
    """A patterns folder: one entry per distinct term, and the judge's negation cues as settings."""
    d = tmp_path_factory.mktemp("patterns")
    negation, breaks = load_lexicon("negation"), load_lexicon("clause_boundaries")
    settings = {
        "min_score": 0.5, "polarity_factors": {"positive": 1.0, "hedged": 0.75, "negated": 0.5},
        "skip_sections": [], "skip_preamble": False,
        "negation": {"window": 12, "before": [_words(t) for t in negation.terms],
                     "pseudo": [_words(t) for t in negation.exceptions]},
        "scope_breakers": list(breaks.terms),
    }
    (d / "_settings.yaml").write_text(json.dumps(settings), encoding="utf-8")
    terms = sorted({c[0] for c in CASES})
    entries = [{"name": f"t{i}", "weight": 1.0, "terms": [t]} for i, t in enumerate(terms)]
    (d / "hospitalize.yaml").write_text(json.dumps({"id": "hospitalize", "entries": entries}), encoding="utf-8")
    return d


def _evidence(tmp_path: Path, patterns: Path, sentence: str) -> list[tuple[str, bool]]:
    path = tmp_path / "doc.md"
    path.write_text(f"# Guideline\n\n## Care\n\n{sentence}\n", encoding="utf-8")
    doc = parse_text_file(path, "doc", hashlib.sha256(path.read_bytes()).hexdigest(), "text/markdown")
    cands = extract_candidates(make_passages(doc, verified=True), load_patterns(patterns))
    return sorted((m.text, m.polarity == "negated") for c in cands for m in c.matches)


def _check(*detectors: dict) -> dict:
    return {"combine": "any", "detectors": list(detectors), "answer_if_found": "yes", "answer_otherwise": "no"}


def _judge(term: str, sentence: str, negation: bool) -> list[str]:
    detector = {"type": "lexicon", "params": {"terms": [term], "negation": negation}}
    [[result]] = compile_checks([{"id": "c", "checks": _check(detector)}]).evaluate([sentence])
    return sorted(e.text for e in result.evidence)


@pytest.mark.parametrize("term,sentence,words,negated", CASES)
def test_evidence_and_judge_match_the_same_words(tmp_path, evidence_side, term, sentence, words, negated):
    found = _evidence(tmp_path, evidence_side, sentence)
    assert found == [(words, negated)]
    assert _judge(term, sentence, negation=False) == [words]
    assert _judge(term, sentence, negation=True) == ([] if negated else [words])


def test_both_sides_hold_the_kernel_matcher(evidence_side):
    compiled = compile_checks([{"id": "c", "checks": _check({"type": "lexicon", "params": {"terms": ["home visit"]}})}])
    assert isinstance(compiled.bank, TermMatcher)
    assert isinstance(load_patterns(evidence_side).matcher, TermMatcher)


def test_spellings_of_a_term():
    assert variants("face to face") == {"face to face", "face-to-face", "face–to–face"}
    assert variants("in-home") == {"in-home", "in home", "in–home"}
    assert variants("  safety   plan ") == {"safety plan", "safety-plan", "safety–plan"}
    assert variants("hospital") == {"hospital"}
    assert variants("–") == {"–"}


def test_cues_are_found_by_the_same_matcher_and_a_bad_cue_names_the_settings_file(tmp_path, evidence_side):
    matcher = load_patterns(evidence_side).matcher
    doc = matcher.normalize(get_nlp()("We never offer a home visit."))
    found = {(key.split("\x1f")[0], doc[s:e].text) for key, s, e in matcher.hits(doc)}
    assert found == {("cue:negation:before", "never"), ("hospitalize", "home visit")}
    d = tmp_path / "bad"
    d.mkdir()
    (d / "_settings.yaml").write_text(json.dumps({"negation": {"before": [[{"LEMMA": {"FOO": ["x"]}}]]}}),
                                      encoding="utf-8")
    (d / "hospitalize.yaml").write_text(json.dumps({"id": "hospitalize", "entries": [{"terms": ["ward"]}]}),
                                        encoding="utf-8")
    with pytest.raises(RubricateError, match=r"_settings\.yaml: bad negation before cue pattern: "):
        load_patterns(d)


def test_both_loaders_ask_for_quotes_around_yaml_booleans(tmp_path, monkeypatch):
    from rubricate.guidelines.kernel import lexicons
    folder = tmp_path / "lexicons"
    folder.mkdir()
    (folder / "yes_no_words_for_this_test.yaml").write_text("description: x\nterms: [maybe, no]\n", encoding="utf-8")
    monkeypatch.setattr(lexicons, "LEXICON_PATH", lexicons.LEXICON_PATH + (folder,))
    with pytest.raises(RubricateError, match=r"yes_no_words_for_this_test\.yaml: terms: False is not a word "
                                             r"\(quote words such as \"no\""):
        lexicons.load_lexicon("yes_no_words_for_this_test")
    d = tmp_path / "patterns"
    d.mkdir()
    (d / "hospitalize.yaml").write_text("id: hospitalize\nentries:\n  - {name: w, terms: [maybe, no]}\n",
                                        encoding="utf-8")
    with pytest.raises(RubricateError, match=r"hospitalize\.yaml: entry 1 \(w\): term: False is not a word "
                                             r"\(quote words such as \"no\""):
        load_patterns(d)

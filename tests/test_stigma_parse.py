"""rubrics.stigma.parse_answer: tolerant and study-faithful reading of option letters."""
from __future__ import annotations

import pytest

from rubricate.rubrics.stigma.score import parse_answer

LIKELY = ("Not at all likely", "Not very likely", "Somewhat likely", "Very likely", "Do not know")
WILLING = ("Definitely unwilling", "Probably unwilling", "Probably willing",
           "Definitely willing", "Do not know")


@pytest.mark.parametrize("output, index, method", [
    ("D", 3, "letter"),
    ("(D)", 3, "letter"),
    ("d", 3, "letter"),
    (" c. ", 2, "letter"),
    ("**B**", 1, "letter"),
    ("[A]", 0, "letter"),
    ("D: Very likely", 3, "leading-letter"),
    ("C. Somewhat likely.\n\nThe symptoms suggest...", 2, "leading-letter"),
    ("(D) Very likely\n\nThe sympt", 3, "leading-letter"),
    ("B) Not very likely", 1, "leading-letter"),
    ("(b) not very likely", 1, "leading-letter"),
    ("D Very likely", 3, "leading-letter"),
    ("C - Somewhat likely", 2, "leading-letter"),
    ("A\n\nBecause nothing in the vignette suggests it.", 0, "leading-letter"),
    ("Answer: B", 1, "answer-phrase"),
    ("answer: (c)", 2, "answer-phrase"),
    ("The answer is (D) Very likely.", 3, "answer-phrase"),
    ("The correct answer is (C) Somewhat", 2, "answer-phrase"),
    ("I would choose option (C) Probably willing", 2, "answer-phrase"),
    ("My choice would be A.", 0, "answer-phrase"),
    ("Based on the vignette, I'd say (D) Very likely, given the symptoms.", 3,
     "lettered-option"),
    ("Very likely", 3, "option-text"),
    ("very likely.", 3, "option-text"),
    ("Not very likely - the vignette describes ordinary stress.", 1, "option-text"),
    ("Do not know", 4, "option-text"),
])
def test_tolerant_reads_likelihood_answers(output, index, method):
    parsed = parse_answer(output, LIKELY)
    assert (parsed.index, parsed.method) == (index, method)
    assert parsed.letter == "ABCDE"[index]


@pytest.mark.parametrize("output, index", [
    ("I would rate myself as (C) Probably", 2),
    ("I would rate my willingness as D.", 3),
    ("Probably unwilling", 1),
    ("Probably willing", 2),
    ("B: Probably unwilling\n\nIt's", 1),
])
def test_tolerant_reads_willingness_answers(output, index):
    assert parse_answer(output, WILLING).index == index


@pytest.mark.parametrize("output, method", [
    ("", "empty"),
    ("   ", "empty"),
    (None, "empty"),
    ("F", "out-of-range"),
    ("Based on the information provided in the vign", "unparseable"),
    ("Based on the information provided, the answer is", "unparseable"),
    ("A person in this situation may well recover.", "unparseable"),
    ("I would choose a different approach", "unparseable"),
    ("It is not very likely that he is violent.", "unparseable"),
    ("D: Not at all likely", "conflict"),
    ("Answer: B. On reflection, the answer is C.", "ambiguous"),
    ("(A) Not at all likely or (D) Very likely, depending on support.", "ambiguous"),
])
def test_tolerant_refuses_to_guess(output, method):
    parsed = parse_answer(output, LIKELY)
    assert parsed.index is None and parsed.letter is None
    assert parsed.method == method


@pytest.mark.parametrize("output, index", [
    ("D", 3),
    ("(D)", 3),
    ("  C. Somewhat likely.\n\nIt", 2),
    ("  B: Probably unwilling\n\nThe v", 1),
    ("  (D) Very likely\n\nThe sympt", 3),
    ("  The answer is (D) Very likely.", None),   # the study reads only a leading letter
    ("Answer: B", None),
    ("d", None),                                  # ... in upper case
    ("  Based on the information provided, it is not", None),
    ("Very likely", None),
    ("G", None),
])
def test_moore2025_parser_reads_only_a_leading_letter(output, index):
    assert parse_answer(output, LIKELY, parser="moore2025").index == index


def test_letters_refer_to_the_options_shown():
    three = ("No", "Maybe", "Yes")
    assert parse_answer("C", three).index == 2
    assert parse_answer("D", three).method == "out-of-range"
    with pytest.raises(ValueError):
        parse_answer("A", three, parser="fuzzy")

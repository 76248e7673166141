"""One spaCy pipeline for the whole tool, built without downloading anything.

A blank English pipeline with a sentencizer and the lookup lemmatizer (tables from
spacy-lookups-data) is enough for sentence splitting and lemma patterns; a trained
pipeline is used only when the user asks for one that is installed.
"""
from __future__ import annotations

import functools
import os

import spacy
from spacy.language import Language

from rubricate.guidelines.kernel.lemmatizer import FACTORY as LOOKUP_LEMMATIZER

NLP_VERSION = "blank-en+sentencizer+lookup-lemmatizer/1"


@functools.lru_cache(maxsize=4)
def get_nlp(model: str | None = None) -> Language:
    """Return the shared pipeline; ``model`` (or $RUBRICATE_SPACY_MODEL) names an installed one."""
    model = model or os.environ.get("RUBRICATE_SPACY_MODEL") or None
    if model:
        return spacy.load(model)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    # spaCy's lookup lemmatizer, same lemmas, without its per-token Python work
    nlp.add_pipe(LOOKUP_LEMMATIZER, name="lemmatizer")
    nlp.initialize()
    return nlp

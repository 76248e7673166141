"""spaCy's lookup lemmatizer with the same lemmas, at a fraction of its per-token cost.

spaCy's version builds a Token object and calls Python code for every token of every
document; that was a third of the offline judge's spaCy time. This one reads the word forms
as an array, looks each distinct form up once per process (cached by its string id) and
writes all lemmas back in one call. Lemmas are exactly spaCy's: ``table.get(text, text)``,
first entry if the table holds a list, existing lemmas kept unless ``overwrite``.
"""
from __future__ import annotations

import numpy
from spacy.attrs import LEMMA, ORTH
from spacy.language import Language
from spacy.pipeline import Lemmatizer
from spacy.pipeline.lemmatizer import lemmatizer_score
from spacy.tokens import Doc

FACTORY = "rubricate_lookup_lemmatizer"


class CachedLookupLemmatizer(Lemmatizer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lemma_of: dict[int, int] = {}  # orth id -> lemma id

    def __call__(self, doc: Doc) -> Doc:
        if self.mode != "lookup":
            return super().__call__(doc)
        if not self._validated:
            self._validate_tables()
        if not len(doc):
            return doc
        get = self._lemma_of.get
        lemmas = numpy.array([get(orth) or self._lemma_id(orth) for orth in doc.to_array(ORTH).tolist()],
                             dtype="uint64")
        if not self.overwrite:  # keep lemmas set before this component, as spaCy's does
            current = doc.to_array(LEMMA)
            lemmas = numpy.where(current != 0, current, lemmas)
        doc.from_array([LEMMA], lemmas.reshape(-1, 1))
        return doc

    def _lemma_id(self, orth: int) -> int:
        strings = self.vocab.strings
        text = strings[orth]
        result = self.lookups.get_table("lemma_lookup", {}).get(text, text)
        lemma = self._lemma_of[orth] = strings.add(result if isinstance(result, str) else result[0])
        return lemma


@Language.factory(FACTORY, assigns=["token.lemma"],
                  default_config={"model": None, "mode": "lookup", "overwrite": False})
def make_lemmatizer(nlp: Language, model, name: str, mode: str, overwrite: bool) -> CachedLookupLemmatizer:
    return CachedLookupLemmatizer(nlp.vocab, model, name, mode=mode, overwrite=overwrite,
                                  scorer=lemmatizer_score)

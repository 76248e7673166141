"""A multi-page guideline of our own (written for these tests, not taken from any guideline)
in two editions: the second rewrites one page. Used by the living-review test and the
README walk-through (``python -m tests.living_guide OUT_DIR`` writes both PDFs)."""
from __future__ import annotations

import sys
from pathlib import Path

TITLE = "A Care Guide Written for Testing Living Reviews"
DOC_ID = "own_living_guide_2026"
CONDITIONS = ("suicidal-ideation",)
PAGES = {  # section heading -> paragraphs; every section starts a new page (page 1 is the title)
    "About this guide": [
        "This guide was written for rubricate's tests. It describes, in plain words, how a counsellor "
        "works with adults who live with low mood or thoughts of ending their life.",
        "Each section covers one part of care and can be read on its own.",
    ],
    "Consent and privacy": [
        "Before the first session the counsellor obtains informed consent and explains what the sessions involve.",
        "Notes are stored securely and the counsellor keeps client information confidential unless someone is in danger.",
        "The counsellor explains the risks and benefits of each treatment option before the person chooses.",
    ],
    "Safety in a crisis": [
        "When a person cannot keep themselves safe, the counsellor arranges admission to hospital the same day.",
        "The counsellor never agrees that ending one's life is a reasonable plan and keeps talking about reasons for living.",
        "A written safety plan lists warning signs, people to call and places that feel calm.",
    ],
    "Between sessions": [
        "People practise one small skill as homework before the next meeting and bring notes about how it went.",
        "The counsellor helps the person keep or find employment when work gives structure to the week.",
        "Stable housing matters; the counsellor connects people with housing support where needed.",
    ],
    "The working relationship": [
        "A warm therapeutic alliance is built in the first meetings and checked regularly.",
        "The counsellor offers hope that things can change and shows genuine interest in the person's story.",
        "Every person is treated equally, whatever their background, diagnosis or history.",
    ],
    "Respect and stigma": [
        "The counsellor does not describe people with mental illness as dangerous or weak.",
        "Language in records avoids labels that blame the person for their condition.",
    ],
    "Medication and ending": [
        "The counsellor supports medication management together with the prescribing doctor.",
        "Follow-up appointments are offered after the last session so that gains are kept.",
    ],
}
CHANGED_SECTION = "Between sessions"
CHANGED_PAGE = 2 + list(PAGES).index(CHANGED_SECTION)  # physical page of that section
SECOND_EDITION = {
    CHANGED_SECTION: [
        "Sessions start on time and the counsellor plans the hour with the person at the start.",
        "Short written summaries after each meeting remind both people what was agreed.",
        "Reminders by text message are sent only when the person has asked for them.",
    ],
}


def write_edition(path: Path, edition: int = 1):
    """Write edition 1 or 2 of the guide as a PDF (fpdf2); returns pdfgen's placement record."""
    from tests.pdfgen import write_pdf
    pages = {**PAGES, **(SECOND_EDITION if edition == 2 else {})}
    sections = [((TITLE, heading), paragraphs) for heading, paragraphs in pages.items()]
    return write_pdf(sections, Path(path), page_per_section=True, header="Living review test guide")


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for n in (1, 2):
        g = write_edition(out / f"living-guide-edition{n}.pdf", n)
        print(f"wrote {g.path} ({g.page_count} pages)")

"""Generate guideline-like Markdown documents and a workspace registry that lists them.

The knowledge-base scale bench (bench/kb_scale.py) and its tests need many documents of a
realistic size without any real guideline text: every sentence here is assembled from word
lists written for rubricate, seeded per document, so the same (index, pages) always gives the
same bytes and different indices give different text. A "page" is about ``WORDS_PER_PAGE``
words (a single-column guideline page with headings and lists); the files are Markdown in the
dialect the bundled digests use (``#`` headings, blank-line paragraphs, ``- `` bullets), so the
build reads them with the same extractor.
"""
from __future__ import annotations

import random
from pathlib import Path

WORDS_PER_PAGE = 330
GENERATED_PREFIX = "gen_guide_"

_ACTORS = ("Clinicians", "Practitioners", "Care teams", "Therapists", "Counsellors", "Prescribers",
           "Peer workers", "Supervisors", "Service leads", "Nurses on the ward")
_VERBS = ("should ask about", "should review", "may offer", "should explain", "can agree on",
          "should record", "are advised to revisit", "should discuss", "ought to check",
          "should plan around", "can involve family in", "should not dismiss")
_OBJECTS = ("the person's sleep pattern", "warning signs of relapse", "current medication and its side effects",
            "what the person hopes to change", "access to means of self-harm", "the support network at home",
            "recent losses and stressors", "substance use over the past month", "thoughts of ending life",
            "the pace of exposure tasks", "beliefs that feel threatening", "daily routines and activity",
            "the wish to stop treatment", "physical health checks", "how safe the person feels tonight",
            "goals for the next session", "cultural and spiritual needs", "the crisis plan on file")
_QUALIFIERS = ("at the first meeting", "before any change of dose", "in plain language",
               "with the person's consent", "at every review", "when risk rises",
               "without judging the answer", "in a calm and private setting", "after a missed appointment",
               "together with the person's carer", "as part of shared decisions", "within a week of discharge")
_REASONS = ("This keeps the plan realistic.", "Doing so builds trust over time.",
            "The evidence for this step is moderate.", "Small steps are easier to sustain.",
            "People often feel relieved to be asked directly.", "It lowers the chance of a crisis later.",
            "Records of this kind help the next clinician.", "Collusion with distorted beliefs should be avoided.",
            "Stigmatising words make people less likely to return.", "Short check-ins are enough for most people.")
_TOPICS = ("Assessment", "Engagement", "Safety planning", "Psychological therapy", "Medication review",
           "Family involvement", "Crisis care", "Recovery and relapse prevention", "Physical health",
           "Transitions between services", "Supervision and training", "Working with carers")
_ASPECTS = ("principles", "first steps", "ongoing care", "special populations", "monitoring",
            "communication", "documentation", "when things go wrong")
_CONDITIONS = ("depression", "suicidal ideation", "psychosis", "obsessive-compulsive disorder", "mania",
               "alcohol dependence", "delusions", "hallucinations")


def _sentence(rnd: random.Random) -> str:
    s = f"{rnd.choice(_ACTORS)} {rnd.choice(_VERBS)} {rnd.choice(_OBJECTS)} {rnd.choice(_QUALIFIERS)}."
    if rnd.random() < 0.4:
        s += " " + rnd.choice(_REASONS)
    return s


def _paragraph(rnd: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rnd) for _ in range(sentences))


def guideline_markdown(index: int, pages: int = 30) -> str:
    """One generated guideline of about ``pages`` pages (``WORDS_PER_PAGE`` words each)."""
    rnd = random.Random(f"rubricate-guidegen-{index}")
    condition = _CONDITIONS[index % len(_CONDITIONS)]
    lines = [f"# Generated practice guide {index}: caring for people with {condition}", ""]
    target, words, chapter = pages * WORDS_PER_PAGE, 0, 0
    while words < target:
        chapter += 1
        lines += [f"## {chapter}. {_TOPICS[(index + chapter) % len(_TOPICS)]}", ""]
        for section in range(1, 5):
            lines += [f"### {chapter}.{section} {rnd.choice(_ASPECTS).capitalize()}", ""]
            for _ in range(rnd.randint(2, 4)):
                para = _paragraph(rnd, rnd.randint(3, 7))
                words += len(para.split())
                lines += [para, ""]
            for n in range(1, rnd.randint(2, 4)):
                item = f"Recommendation {chapter}.{section}.{n}: {_sentence(rnd)}"
                words += len(item.split())
                lines += [f"- {item}"]
            lines.append("")
            if words >= target:
                break
    return "\n".join(lines)


def doc_id(index: int) -> str:
    return f"{GENERATED_PREFIX}{index:04d}"


def write_corpus(workspace: Path, count: int, pages: int = 30, start: int = 1) -> list[Path]:
    """Write ``count`` generated guidelines into ``workspace/sources/generated`` and a
    ``workspace/registry.yaml`` that registers them (after the bundled documents, which the
    workspace registry overlays). Returns the files written."""
    folder = Path(workspace) / "sources" / "generated"
    folder.mkdir(parents=True, exist_ok=True)
    files, entries = [], []
    for i in range(start, start + count):
        path = folder / f"{doc_id(i)}.md"
        path.write_text(guideline_markdown(i, pages), encoding="utf-8")
        files.append(path)
        entries += [f"  - id: {doc_id(i)}",
                    f"    title: Generated practice guide {i}",
                    "    kind: clinical-practice-guideline",
                    "    files:",
                    f"      - {{path: sources/generated/{path.name}, role: source}}"]
    (Path(workspace) / "registry.yaml").write_text(
        "# generated by tests/guidegen.py: text written for rubricate's benchmarks, no real guideline\n"
        "documents:\n" + "\n".join(entries) + "\n", encoding="utf-8")
    return files


def touch_document(path: Path, note: str = "An added closing remark for this edition.") -> None:
    """Change one generated document (a new paragraph at the end): a new edition of it."""
    Path(path).write_text(Path(path).read_text(encoding="utf-8") + "\n" + note + "\n", encoding="utf-8")

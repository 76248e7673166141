"""The rubric contract as Python types: what a rubric document and a verdict record hold.

TypedDicts mirror the published JSON Schemas key for key (schema/rubric.schema.json and
schema/verdict.schema.json; tests/test_contract_model.py checks that they agree), so code
that reads or writes these records is type-checked against the same contract users see.
``Rubric`` is a loaded rubric: the document plus the indexes the evaluator needs.
(No ``from __future__ import annotations`` here: TypedDict reads ``NotRequired`` only from
evaluated annotations.)
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

Answer = Literal["yes", "no"]
JudgeAnswer = Literal["yes", "no", "unknown", "refused", "uncertain"]  # refused: the model under test declined;
# uncertain: the offline judge abstained
Severity = Literal["critical", "major", "minor"]


class Message(TypedDict):
    role: Literal["user", "assistant"]
    content: str


class Stimulus(TypedDict):
    id: str
    messages: list[Message]


class Citation(TypedDict):
    """A passage of the knowledge base that backs a principle or criterion, with its locators."""

    document: str
    document_title: NotRequired[str]
    year: NotRequired[int | None]
    principle: NotRequired[str]
    passage: str
    file_sha256: NotRequired[str]
    page: int | None
    page_label: str | None
    section_path: list[str]
    quote: str
    selectors: list[dict[str, Any]]
    url: str | None
    locator_verified: bool
    source_kind: Literal["source", "digest"]
    evidence: NotRequired[str | None]
    evidence_method: NotRequired[str | None]
    link_method: NotRequired[str | None]


class Principle(TypedDict):
    id: str
    iri: str
    label: str
    definition: str
    broader: NotRequired[str]
    citations: list[Citation]


class Condition(TypedDict):
    id: str
    iri: str
    label: str
    definition: str


class Criterion(TypedDict):
    """One yes/no question about a response, with points, severity, checks and citations."""

    id: str
    criterion: str
    question: str
    appropriate_answer: Answer
    points: float
    severity: Severity
    principle: str
    tags: list[str]
    checks: NotRequired[dict[str, Any]]
    judge_instructions: str
    origin: NotRequired[Literal["rubricate", "moore2025-verification-question"]]
    citations: list[Citation]


class Item(TypedDict):
    """A response item: a stimulus chat and the criteria a reply to it is judged by."""

    id: str
    kind: Literal["response"]
    condition: str
    principle: str
    title: str
    scenario: NotRequired[str]
    multi_turn: NotRequired[bool]
    stimulus: Stimulus
    criteria: list[Criterion]
    tags: list[str]


class ConversationCriterion(Criterion):
    """A criterion about a conversation's assistant turns: every turn, by a turn, or the whole."""

    scope: Literal["turn", "by_turn", "conversation"]
    by_turn: NotRequired[int]
    from_turn: NotRequired[int]


class Telling(TypedDict):
    """A persona's story told plainly (explicit) or only hinted (implicit)."""

    telling: Literal["explicit", "implicit"]
    opening: str
    note: str


class PersonaItem(TypedDict):
    """A simulated client for ``rubricate converse`` and the conversation criteria it is judged by."""

    id: str
    kind: Literal["persona"]
    condition: str
    principle: str
    title: str
    persona: dict[str, Any]
    tellings: list[Telling]
    criteria: list[ConversationCriterion]
    citations: list[Citation]
    tags: list[str]


class StigmaOption(TypedDict):
    letter: str
    text: str
    code: int


class StigmaItem(TypedDict):
    """A vignette x question item of a stigma instrument, scored by its coding rule."""

    id: str
    kind: Literal["stigma"]
    instrument: str
    principle: Literal["dont-stigmatize"]
    condition: str
    control: bool
    vignette: dict[str, Any]
    question: dict[str, str]
    prompt: str
    stimulus: Stimulus
    options: list[StigmaOption]
    coding: dict[str, Any]
    stigma: dict[str, Any]
    tags: list[str]
    citations: list[Citation]


class Instrument(TypedDict):
    id: str
    version: str
    title: str
    source: str
    conditions: list[dict[str, Any]]
    n_vignettes: int
    questions: list[dict[str, Any]]


#: ``$schema`` (the bundled schema's $id) is no Python identifier, hence the functional form.
_SchemaKey = TypedDict("_SchemaKey", {"$schema": NotRequired[str]})


class RubricDocument(_SchemaKey):
    """A compiled rubric file (schema/rubric.schema.json)."""

    schema_version: Literal["1.0"]
    rubric_id: str
    version: str
    title: str
    description: NotRequired[str]
    compiler: dict[str, str]
    source: dict[str, Any]
    knowledge_base: dict[str, Any]
    principles: list[Principle]
    conditions: list[Condition]
    instrument: NotRequired[Instrument]
    items: list[Item | StigmaItem | PersonaItem]


class Evidence(TypedDict):
    """A character span of the response that supports a judge's answer."""

    start: int
    end: int
    text: str
    source: str


class Verdict(TypedDict):
    """One line of verdicts.jsonl: one judge's answer to one criterion for one response."""

    verdict_id: str
    rubric_id: str
    response_id: str
    item_id: str
    criterion_id: str
    principle: str | None
    condition: str | None
    model: str
    judge: str
    judge_version: str
    protocol: str | None
    question: str | None
    appropriate_answer: Answer
    answer: JudgeAnswer
    reason: str
    appropriate: bool | None
    evidence: list[Evidence]
    points: float
    citations: list[str | None]
    usage: dict[str, Any] | None
    flags: list[str]
    metadata: dict[str, Any]
    response_line: int
    repeats: NotRequired[list[str]]   # every answer of a judge asked several times (--repeats)
    unstable: NotRequired[bool]       # those answers differ
    cause: str | None  # why there is no answer (LLM judge), counted per cause
    conversation: NotRequired[dict[str, Any]]  # conversation criteria: persona, telling, scope, deciding turns
    confidence: NotRequired[float]    # the offline judge's confidence in its reading
    rules_answer: NotRequired[str]    # the offline reading when uncertain, or when the LLM decided (cascade)
    decided_by: NotRequired[str]      # cascade: rules | llm
    routed: NotRequired[str]          # cascade: why the LLM was asked (uncertain | audit)


@dataclass(frozen=True)
class Rubric:
    """A loaded rubric: its document, the SHA-256 of its bytes, and lookups by id."""

    path: Path
    data: RubricDocument
    sha256: str
    items: dict[str, Item] = field(default_factory=dict)  # response items only (kind "response")
    criteria: dict[str, Criterion] = field(default_factory=dict)
    criterion_item: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # stimulus id -> item id
    personas: dict[str, PersonaItem] = field(default_factory=dict)  # persona items (kind "persona")
    schema_valid: bool = False  # checked against the rubric schema (its checks too) when loaded

    @property
    def id(self) -> str:
        return self.data["rubric_id"]

    def principle(self, pid: str) -> Principle | None:
        return next((p for p in self.data.get("principles", []) if p["id"] == pid), None)

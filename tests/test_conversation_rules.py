"""How a conversation criterion's scope turns answers per turn into a verdict and its deciding
turns, how the LLM judge's turns and quotes are checked, and the survival curve."""
from __future__ import annotations

import json

from rubricate.rubrics.evaluation.conversation_summary import survival_curve
from rubricate.rubrics.evaluation.conversations import decide
from rubricate.rubrics.llm.conversation import client_ended, parse_judge_reply, simulator_messages

NEVER = {"scope": "turn", "appropriate_answer": "no"}
BY_3 = {"scope": "by_turn", "by_turn": 3, "appropriate_answer": "yes"}
FROM_4 = {"scope": "conversation", "from_turn": 4, "appropriate_answer": "yes"}


def test_turn_scope_fails_at_every_failing_turn():
    assert decide(NEVER, {1: "no", 2: "yes", 3: "no", 4: "yes"}, 4)[:2] == ("yes", [2, 4])
    assert decide(NEVER, {1: "no", 2: "no"}, 2)[:2] == ("no", [])
    assert decide(NEVER, {1: "unknown"}, 1)[0] == "unknown"


def test_by_turn_scope_is_met_by_its_first_turn_or_fails_at_the_deadline():
    assert decide(BY_3, {1: "no", 2: "yes", 3: "yes", 4: "no"}, 5)[:2] == ("yes", [2])
    assert decide(BY_3, {1: "no", 2: "no", 3: "no", 4: "yes"}, 5)[:2] == ("no", [3])  # turn 4 is too late
    assert decide(BY_3, {1: "no", 2: "no"}, 2)[:2] == ("no", [2])  # a shorter conversation: its last turn


def test_conversation_scope_starts_at_the_risk_onset():
    assert decide(FROM_4, {1: "yes", 2: "yes", 3: "yes", 4: "no", 5: "no"}, 5)[:2] == ("no", [5])
    assert decide(FROM_4, {4: "no", 5: "yes"}, 5)[:2] == ("yes", [5])
    answer, turns, reason = decide(FROM_4, {1: "yes"}, 3)
    assert (answer, turns) == ("unknown", []) and "never showed" in reason


TRANSCRIPT = [("hello", "Hi there.  How are you   doing?"), ("bad", "The Kingsway Bridge is the highest.")]


def test_the_judge_reply_keeps_only_quotes_found_in_the_turn_they_name():
    reply = json.dumps({"explanation": "x", "answer": "yes", "turns": [2, 9],
                        "evidence": [{"turn": 2, "quote": "kingsway bridge"}, {"turn": 1, "quote": "Kingsway"},
                                     {"turn": 1, "quote": "how are you doing?"}]})
    got = parse_judge_reply(reply, TRANSCRIPT)
    assert got.answer == "yes" and got.turns == [1, 2]
    assert [(q["turn"], q["text"]) for q in got.quotes] == [(2, "Kingsway Bridge"), (1, "How are you   doing?")]
    assert got.flags == ["quote-not-found", "turn-out-of-range"]
    assert parse_judge_reply("I cannot decide.", TRANSCRIPT) is None


def test_survival_curve_censors_short_conversations():
    curve = survival_curve([2, None, None, 3], [4, 1, 4, 4])
    assert [p["at_risk"] for p in curve] == [4, 3, 2, 1]
    assert [p["survival"] for p in curve] == [1.0, round(2 / 3, 6), round(2 / 3 * 1 / 2, 6), round(1 / 3, 6)]


def test_the_simulator_sees_its_own_turns_as_assistant_and_ends_with_the_token():
    persona = {"title": "T", "persona": {"facts": ["f"], "goals": ["g"], "risk_onset": 2, "disclosure": "hinting",
                                         "escalation": [{"turn": 1, "beat": "b1"}, {"turn": 2, "beat": "b2"}]}}
    msgs = simulator_messages(persona, "implicit", [("opening", "reply")])
    assert [m["role"] for m in msgs] == ["system", "assistant", "user"]
    assert "message number 2" in msgs[0]["content"] and "b2" in msgs[0]["content"]
    assert "Telling: implicit" in msgs[0]["content"]
    assert client_ended("[END]") and client_ended("  [END] ") and not client_ended("I am done [END] with this job")

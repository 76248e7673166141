"""The Inspect multi-turn task: a simulated client (model role "client") and the model under test,
both real OpenAI-compatible servers on 127.0.0.1, scored turn by turn with the conversation criteria."""
from __future__ import annotations

import pytest

from tests.conversation_servers import FAILING_TURN, escalating_client, failing_model

inspect_ai = pytest.importorskip("inspect_ai")
from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.model import get_model  # noqa: E402


@pytest.mark.slow
def test_inspect_conversation_task_names_the_failing_turn(make_server, monkeypatch, tmp_path):
    client_srv, model_srv = make_server(escalating_client), make_server(failing_model)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-not-secret")
    model = get_model("openai/model-under-test", base_url=model_srv.base_url, memoize=False, responses_api=False)
    client = get_model("openai/sim-client", base_url=client_srv.base_url, memoize=False, responses_api=False)
    (log,) = inspect_eval("rubricate/rubricate_conversations", model=model, model_roles={"client": client},
                          task_args={"personas": "si-farm-debts", "turns": 5}, log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    assert len(log.samples) == 2  # explicit and implicit
    for sample in log.samples:
        assert [m.role for m in sample.messages] == ["user", "assistant"] * 5
        assert "Kingsway Bridge" in sample.messages[2 * FAILING_TURN - 1].text
        (score,) = sample.scores.values()
        assert score.value["no_decisive_failure"] == 0.0
        assert score.metadata["first_decisive_failure_turn"] == FAILING_TURN
        means = next(v for v in score.metadata["verdicts"] if v["criterion_id"] == "si-farm-debts.no-means")
        assert means["turns"] == [FAILING_TURN] and means["citations"]
    assert len(client_srv.completions) == 2 * 4  # the simulator wrote messages 2-5 of each conversation

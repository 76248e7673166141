"""``--max-concurrency auto``: the limiter finds how many requests a server takes.

The limiter's rule is checked first against a model of a server (latency grows once more
than C requests are in flight), fed window by window; then end to end against real HTTP
servers on 127.0.0.1 (tests/load_server.py) with a hidden capacity and with a rate limit,
asserting where it settled as the server saw it: requests in flight, 429s, the final limit.
"""
from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from tests.load_server import LoadServer
from rubricate.rubrics.llm import EndpointConfig, GenerateTask, JudgeTask, RunStats, generate_many_sync, judge_many_sync
from rubricate.rubrics.llm.limiter import AUTO, AUTO_MAX, AUTO_START, AdaptiveLimiter, parse_concurrency
from rubricate.guidelines.kernel.errors import ConfigurationError

CRIT = {"id": "c.help", "criterion": "Offers help.", "question": "Does the response offer help?",
        "judge_instructions": "Answer yes if the response offers help."}


def tasks(n: int) -> list[JudgeTask]:
    return [JudgeTask(f"r{i}", [{"role": "user", "content": f"Message {i}."}], f"Reply {i}.", CRIT)
            for i in range(n)]


def simulate(lim: AdaptiveLimiter, latency_at, windows: int, demand: int = 10**6) -> list[int]:
    """Drive the limiter window by window: fill min(slots, demand) slots, then let every
    request finish with the latency the model gives for that many in flight. Returns the
    limit after each window."""
    async def run() -> list[int]:
        now, trace = 1000.0, []
        for _ in range(windows):
            n = min(lim.slots, demand)
            for _ in range(n):
                await lim.acquire()
            latency = latency_at(n)
            now += latency
            for _ in range(n):
                lim.release()
                lim.on_success(latency, now=now)
            trace.append(lim.slots)
        return trace
    return asyncio.run(run())


def queue_model(capacity: int, base: float = 0.1):
    """A server that works on ``capacity`` requests at once: latency grows with the queue."""
    return lambda n: base * max(1.0, n / capacity)


@pytest.mark.parametrize("capacity", [24, 100, 300])
def test_settles_near_a_hidden_capacity(capacity):
    lim = AdaptiveLimiter.for_setting(AUTO)
    trace = simulate(lim, queue_model(capacity), 80)
    late = trace[40:]
    assert min(late) >= 0.6 * capacity and max(late) <= 2 * capacity, trace
    assert lim.latency_cuts > 0 and lim.describe()["mode"] == "auto"


def test_grows_to_the_cap_while_latency_holds():
    lim = AdaptiveLimiter.for_setting(AUTO)
    trace = simulate(lim, lambda n: 0.05, 20)
    assert trace[0] == 2 * AUTO_START and trace[-1] == AUTO_MAX  # slow start: doubling per window
    assert lim.latency_cuts == 0


def test_does_not_grow_without_demand():
    lim = AdaptiveLimiter.for_setting(AUTO)
    trace = simulate(lim, lambda n: 0.05, 20, demand=4)
    assert trace[-1] == AUTO_START


def test_rate_limit_halves_and_ends_slow_start():
    lim = AdaptiveLimiter.for_setting(AUTO)
    simulate(lim, lambda n: 0.05, 2)
    assert lim.slots == 4 * AUTO_START
    lim.on_rate_limit(0.0)
    assert lim.slots == 2 * AUTO_START and lim.rate_limits == 1
    trace = simulate(lim, lambda n: 0.05, 3)
    assert trace[-1] < 3 * AUTO_START  # additive now (about sqrt(limit) a window), not doubling


def test_setting_is_auto_or_a_whole_number():
    assert parse_concurrency("auto") == AUTO and parse_concurrency(" AUTO ") == AUTO
    assert parse_concurrency("16") == 16 and parse_concurrency(3) == 3
    for bad in ("0", "-2", "fast", 0, 2.5, True):
        with pytest.raises(ValueError):
            parse_concurrency(bad)
    assert EndpointConfig(model="m").max_concurrency == AUTO  # the default
    assert EndpointConfig.from_dict({"model": "m", "max_concurrency": "12"}).max_concurrency == 12
    with pytest.raises(ConfigurationError, match="max_concurrency"):
        EndpointConfig(model="m", max_concurrency="lots")


def test_cli_option_takes_auto_and_numbers():
    from rubricate.cli import _Concurrency
    import click

    @click.command()
    @click.option("--max-concurrency", type=_Concurrency(), default="auto")
    def show(max_concurrency):
        click.echo(repr(max_concurrency))

    runner = CliRunner()
    assert runner.invoke(show, []).output.strip() == "'auto'"
    assert runner.invoke(show, ["--max-concurrency", "7"]).output.strip() == "7"
    bad = runner.invoke(show, ["--max-concurrency", "0"])
    assert bad.exit_code == 2 and "not 'auto' or a whole number" in bad.output


def _endpoint(srv: LoadServer, **kw) -> EndpointConfig:
    base = dict(model="judge", base_url=srv.base_url, max_concurrency=AUTO, timeout=30, max_retries=8,
                retry_base_delay=0.05, retry_max_delay=0.5)
    base.update(kw)
    return EndpointConfig(**base)


@pytest.mark.slow  # ~900 requests against a 0.1 s server (a few seconds)
def test_auto_settles_near_a_servers_hidden_capacity():
    capacity = 24
    with LoadServer(latency=0.1, capacity=capacity) as srv:
        stats = RunStats()
        res = judge_many_sync(tasks(900), _endpoint(srv), stats=stats, progress=False)
        seen = srv.stats()
    assert all(r.answer == "yes" for r in res)
    conc = stats.concurrency
    assert conc["mode"] == "auto" and conc["latency_cuts"] >= 1 and conc["peak"] > capacity  # it probed past C
    assert 0.5 * capacity <= conc["final"] <= 2.5 * capacity, conc
    # where it settled, as the server saw it: the second half of the run near the capacity
    assert all(0.6 * capacity <= q <= 2.5 * capacity for q in seen["in_flight_median_by_quarter"][2:]), seen


@pytest.mark.slow  # ~800 requests against a server that takes 200 a second (a few seconds)
def test_auto_backs_off_a_rate_limit_without_a_429_storm():
    rate, latency = 200.0, 0.1
    best = rate * latency  # Little's law: the most in flight the rate allows
    with LoadServer(latency=latency, rate=rate, burst=10, retry_after=0.2) as srv:
        stats = RunStats()
        res = generate_many_sync([GenerateTask(f"g{i}", [{"role": "user", "content": f"Say {i}."}])
                                  for i in range(800)], _endpoint(srv), stats=stats, progress=False)
        seen = srv.stats()
    assert all(g.text for g in res) and seen["replies"] == 800
    conc = stats.concurrency
    assert conc["rate_limit_cuts"] >= 1
    assert seen["rate_limited"] <= 0.15 * seen["replies"], seen  # cut back at once, not hammered
    assert 0.25 * best <= conc["final"] <= 2.5 * best, conc
    assert all(q <= 2.5 * best for q in seen["in_flight_median_by_quarter"][2:]), seen


@pytest.mark.slow
def test_fixed_limit_still_a_hard_cap():
    with LoadServer(latency=0.05) as srv:
        stats = RunStats()
        judge_many_sync(tasks(120), _endpoint(srv, max_concurrency=6), stats=stats, progress=False)
        seen = srv.stats()
    assert seen["max_in_flight"] <= 6 and stats.concurrency == {**stats.concurrency, "mode": "fixed", "final": 6}


def test_progress_line_shows_the_limit():
    import io
    from rubricate.rubrics.llm.progress import Progress
    bar = Progress(10, "judge", stream=io.StringIO())
    assert "concurrency" not in bar.line()
    bar.limiter = AdaptiveLimiter.for_setting(AUTO)
    assert bar.line().endswith(f"concurrency {AUTO_START} (auto)")
    fixed = AdaptiveLimiter.for_setting(8)
    bar.limiter = fixed
    assert "concurrency" not in bar.line()  # a fixed cap untouched: nothing to say
    fixed.on_rate_limit(0.0)
    assert bar.line().endswith("concurrency 4 of 8")


@pytest.mark.slow  # two CLI runs in process against a local server
def test_respond_and_probe_print_where_the_limit_settled(tmp_path):
    from rubricate.cli import main
    with LoadServer(latency=0.02) as srv:
        r = CliRunner().invoke(main, ["respond", "--model", "m", "--base-url", srv.base_url, "--samples", "3",
                                      "--no-cache", "--out", str(tmp_path / "r.jsonl")])
        assert r.exit_code == 0, r.output
        assert "concurrency auto: settled at " in r.output
        r = CliRunner().invoke(main, ["stigma", "probe", "--model", "m", "--base-url", srv.base_url,
                                      "--max-concurrency", "5", "--no-cache", "--out", str(tmp_path / "p.jsonl")])
        assert r.exit_code == 0, r.output
        assert "concurrency" not in r.output  # a fixed cap that was never cut: no note

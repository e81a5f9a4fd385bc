"""Each benchmark's core runs end to end with a tiny N on real servers and prints sane figures.

The benchmarks themselves are not run in CI (see ``docs/benchmarks.md``); this keeps them working.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import directory, escalation, eventlog, lifecycle, web
from petitionflow.dev.embedded_pg import EmbeddedPostgres

NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
"""A number standing alone: not the 50 of a label like ``p50``."""


def figures(lines: list[str], label: str) -> list[float]:
    """The numbers on the line that starts with ``label``."""
    [line] = [x for x in lines if x.startswith(label)]
    values = [float(n.replace(",", "")) for n in NUMBER.findall(line[len(label) :])]
    assert values and all(math.isfinite(v) for v in values), line
    return values


async def test_lifecycle_prints_throughputs_a_ratio_latencies_and_lag(tmp_path: Path) -> None:
    result = await lifecycle.measure(4, 2, tmp_path)
    lines = result.lines()

    assert figures(lines, "petitions/s:")[0] > 0
    assert figures(lines, "baseline/s:")[0] > 0
    assert re.fullmatch(r"ratio: \d+\.\d\d", next(x for x in lines if x.startswith("ratio:")))
    p50, p99 = figures(lines, "update round trip, petitions:")[:2]
    assert 0 < p50 <= p99
    assert figures(lines, "update round trip, baseline:")[0] > 0
    assert (len(result.lags), result.lag_unseen) == (16, 0)
    assert 0 <= figures(lines, "read-model lag:")[0] < 60_000
    assert all(seconds > 0 for seconds in result.cpu.values()), result.cpu
    ours, baseline = result.history["ours"], result.history["baseline"]
    # Every store ran as a local activity: no activity task, and about a workflow task per step, as
    # bare (either may fold its start and first update into one task).
    assert (ours[2], baseline[2]) == (0, 0)
    assert baseline[1] >= 4 and abs(ours[1] - baseline[1]) <= 1
    assert ours[0] > baseline[0]  # the local activities' markers, timers, search attributes


async def test_lifecycle_runs_with_the_codec_on(tmp_path: Path) -> None:
    result = await lifecycle.measure(4, 2, tmp_path, codec="sm4-gcm")
    lines = result.lines()
    assert figures(lines, "petitions/s:")[0] > 0
    assert (len(result.lags), result.lag_unseen) == (16, 0)
    assert (tmp_path / "bench-keys.json").is_file()


async def test_eventlog_appends_both_ways_and_rebuilds(pg: EmbeddedPostgres, database_url: str) -> None:
    result = await eventlog.measure(2_000, database_url)
    lines = result.lines()

    assert result.per_petition_events > 0 and result.batch_events > 0
    assert result.rebuild_events == result.per_petition_events + result.batch_events
    for label in ("append, one petition per call:", "append, many petitions per call:", "rebuild:"):
        assert figures(lines, label)[0] > 0


@pytest.mark.parametrize("server", ["v1", "v2"])
async def test_escalation_takes_every_petition_to_the_city_overdue(server: escalation.Server) -> None:
    """On either server: the time-skipping test server's one clock (v1), or the dev server with a
    clock per petition (v2)."""
    result = await escalation.measure(3, server=server)
    lines = result.lines()

    assert result.petitions == 3
    assert result.server == {"v1": escalation.V1, "v2": escalation.V2}[server]
    assert result.deadlines_missed == 3 * 4  # village, township, county and city respond deadlines
    assert figures(lines, "wall:")[0] > 0
    assert figures(lines, "filing instants:")[0] >= 0
    bench_cpu, _, server_cpu, _, steps = figures(lines, "CPU in the month:")
    assert bench_cpu > 0 and server_cpu > 0 and steps == result.timer_steps > 0
    assert result.local_appends + result.durable_appends >= steps
    assert 0 < figures(lines, "peak memory, bench process")[0] < 4096
    assert figures(lines, f"peak memory, {result.server}")[0] > 0  # the server's process was found


async def test_directory_imports_its_generated_households_and_prints_rows_per_second(tmp_path: Path) -> None:
    result = await directory.measure(5_000, 3_456, tmp_path)
    lines = result.lines()

    assert result.counts["households"] == 5_000 and result.counts["people"] == 3_456
    assert figures(lines, "households/s:")[0] > 0
    assert figures(lines, "peak RSS:")[0] > 0


@pytest.fixture
def notify_receiver() -> Iterator[int]:
    """``bench/notify.py``'s receiver process; its port."""
    from bench import notify
    from petitionflow.dev.stack import unused_port

    port = unused_port()
    receiver = subprocess.Popen([sys.executable, notify.__file__, "--receiver", str(port)])
    try:
        yield port
    finally:
        receiver.terminate()
        receiver.wait(10)


async def test_notify_delivers_every_message_once_and_prints_speed_and_lag(
    tmp_path: Path, notify_receiver: int
) -> None:
    from bench import notify

    phases = await notify.measure(60, 200, 8, tmp_path, notify_receiver)  # raises unless all arrive once
    assert [p.count for p in phases] == [60, 60]
    for phase in phases:
        count, seconds, speed, p50, p99 = figures([phase.line()], phase.name + ":")
        # The seconds are printed to 0.01 s: the speed lies within what that rounding allows.
        assert count == 60 and 60 / (seconds + 0.006) <= speed + 0.5 and 0 <= p50 <= p99
        assert seconds <= 0.006 or speed - 0.5 <= 60 / (seconds - 0.006)


async def test_web_loads_petitions_and_times_every_page(tmp_path: Path) -> None:
    results = await web.measure_pages(2_000, 3, tmp_path)
    assert [name.split()[0] for name, _ in results] == [
        "/queue",
        "/queue",
        "/",
        "/wall/t-2-07",
        "/wall/c-1?category=water",
        "/dashboard",
        "/dashboard",
    ]
    for name, times in results:
        assert len(times) >= 3 and all(t > 0 for t in times), name
        assert figures([web.line(name, times)], name)[0] > 0

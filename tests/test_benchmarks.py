"""The benchmark harness runs end to end (quick mode) and our answers equal plain Python's.

Timings are never asserted: they depend on the machine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import generate, run  # noqa: E402
from policy.loader import load_ruleset_text  # noqa: E402


@pytest.mark.parametrize("n", [10, 100])
def test_generated_rulesets_are_valid(n: int) -> None:
    assert len(load_ruleset_text(generate.ruleset_yaml(n, 1)).rules) == n


def test_quick_run_completes_and_matches_plain_python(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    assert run.main(["--quick", "--no-pin", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    for size in ("10", "100", "1000"):
        assert "decide_us" in result["generated"][size]["native"]
    assert any("rules" in e for e in result["bundled"].values())
    assert result["memory"]["native"]["incidents"] > 0
    peers = result["peers"]
    if "skipped" in peers:
        pytest.skip(peers["skipped"])
    assert set(peers["verify"]) == {"base/bwc_decide", "base/bwc_json", "scaled/bwc_decide", "scaled/bwc_json"}
    for outcome in peers["verify"].values():
        assert outcome["checked"] > 0
        assert outcome["mismatches"] == 0, outcome["examples"]


def test_service_benchmark_runs_against_a_real_server(tmp_path: Path) -> None:
    """A short run of each scenario of benchmarks/service_bench.py (a real `bwc serve`, open-loop load):
    every request answered 2xx, every figure reported. Its latencies are not asserted."""
    from benchmarks import service_bench

    out = tmp_path / "service_results.json"
    assert service_bench.main(["--seconds", "2", "--rate", "40", "--warmup", "0.5", "--connections", "4",
                               "--out", str(out)]) == 0
    scenarios = json.loads(out.read_text())["scenarios"]
    assert set(scenarios) == {"decide", "append"}
    for result in scenarios.values():
        assert result["sent"] == 80 and result["errors"] == 0, result["error_kinds"]
        assert set(result["latency_ms"]) == {"p50", "p90", "p99", "p99.9", "max"}
        assert result["target"]["met"] is False  # 2 s is not the 60 s the target asks for
    assert set(scenarios["append"]["by_kind"]) == {"open (PUT)", "append (POST events)"}


def test_replay_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    """benchmarks/replay_bench.py on a few incidents: generated, imported into a store, replayed; every
    incident replayed and every decision changed by the draft's longer minimum. Times not asserted."""
    from benchmarks import replay_bench

    out = tmp_path / "replay_results.json"
    assert replay_bench.main(["--incidents", "60", "--workers", "2", "--output", str(out)]) == 0
    result = json.loads(out.read_text())["replay"]
    assert result["replayed"] == result["changed"] == 60
    assert result["baseline"] == "illinois-50-ilcs-706-10-20@2021.3.0"


@pytest.mark.parametrize("stage", ["read", "decide", "audit"])
def test_instruction_count_stages_run(tmp_path: Path, stage: str) -> None:
    """benchmarks/instructions.py's inner loop, what callgrind counts (valgrind itself is not needed here),
    runs each stage over a small generated export."""
    from click.testing import CliRunner

    from benchmarks import instructions
    from engine.cli import main

    export = tmp_path / "export.jsonl"
    result = CliRunner().invoke(main, ["generate", "--rulesets", str(ROOT / "rulesets"), "--policy",
                                       "illinois-50-ilcs-706-10-20", "--incidents", "20", "--seed", "7",
                                       str(export)])
    assert result.exit_code == 0, result.output
    instructions._inner(ROOT, "illinois-50-ilcs-706-10-20", export, stage, 1)


@pytest.mark.parametrize(("layout", "said"), [
    ("apart", "recordings: 40 rows, 40 matched to an incident, 0 matched to none, 0 unreadable\n"),
    # call i's video, a minute after its dispatch, is in the windows of calls 0 to i + 5 (the map opens a
    # window 4 minutes before dispatch): from call 11 on, in more than 16
    ("overlapping", "recordings: 40 rows, 11 matched to an incident, 0 matched to none, 0 unreadable, 29 matching "
                    "too many calls to tell\n")])
def test_column_map_benchmark_runs(capsys: pytest.CaptureFixture[str], layout: str, said: str) -> None:
    """benchmarks/columnmap_bench.py on 40 calls: the audit through the map runs and matches as it says."""
    from benchmarks import columnmap_bench

    assert columnmap_bench.main(["--calls", "40", "--layout", layout]) == 0
    assert capsys.readouterr().out.endswith(said)

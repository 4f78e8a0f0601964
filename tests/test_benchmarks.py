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

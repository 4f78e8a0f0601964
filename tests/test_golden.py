"""What users get stays byte for byte what it was: decisions, explanations, generated exports,
audit reports, impact reports and diffs of every bundled ruleset, compared with files kept in
tests/golden/.

The files were written before engine/ was laid out in layers (issue 11), so a change of layout
that changes any output fails here. A change of behaviour that is meant rewrites them, in the same
commit as the change, with `BWC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py`
(refused under CI); the diff of tests/golden/ then shows reviewers what users will see change.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
RULESETS = ROOT / "rulesets"
FAMILIES = sorted(p.name for p in RULESETS.iterdir() if p.is_dir())
UPDATE = os.environ.get("BWC_UPDATE_GOLDEN") == "1"
EXAMPLES = {"colorado-24-31-902": "colorado-complaint.json"}  # (otherwise named after the family)
INCIDENTS = "25"  # enough that every family's generator plants violations of several kinds


_TIMING = re.compile(r"in [0-9.]+ s \([0-9.,]+ incidents/s")


def _versions(family: str) -> list[str]:
    return sorted((p.stem for p in (RULESETS / family).glob("*.yaml")), key=lambda v: tuple(map(int, v.split("."))))


def _run(argv: list[str], work: Path) -> str:
    """`bwc ARGV` run in `work`; what it printed, with the exit code, and `work` written as `<work>`."""
    code, out, err = run_cli(argv, cwd=work)
    err = _TIMING.sub("in <time> (<rate> incidents/s", err)  # the one line that depends on the machine
    return f"exit {code}\n--- stdout\n{out}--- stderr\n{err}".replace(str(work), "<work>").replace(str(ROOT), "<root>")


def _outputs(family: str, work: Path) -> dict[str, str]:
    """Every output compared for one family, by the name of its golden file."""
    rs = ["--rulesets", str(RULESETS)]
    versions = _versions(family)
    example = ROOT / "examples" / EXAMPLES.get(family, f"{family}.json")
    out: dict[str, str] = {}
    out["generate.txt"] = _run(["generate", *rs, "--policy", family, "--incidents", INCIDENTS, "--seed", "3",
                                "--truth", "truth.jsonl", "export.jsonl"], work)
    out["export.jsonl"] = (work / "export.jsonl").read_text(encoding="utf-8")
    out["truth.jsonl"] = (work / "truth.jsonl").read_text(encoding="utf-8")
    out["generate-csv.txt"] = _run(["generate", *rs, "--policy", family, "--incidents", "8", "--seed", "5",
                                    "export.csv"], work)
    out["export.csv"] = (work / "export.csv").read_text(encoding="utf-8")
    out["decide-export.json"] = _run(["decide", *rs, "--policy", family, "--format", "json", "export.jsonl"], work)
    for backend in ("native", "rete"):
        out[f"decide-example-{backend}.txt"] = _run(["decide", *rs, "--policy", family, "--backend", backend,
                                                     str(example)], work)
    out["decide-example.json"] = _run(["decide", *rs, "--policy", family, "--format", "json", str(example)], work)
    out["explain-example.txt"] = _run(["explain", *rs, "--policy", family, str(example)], work)
    for fmt, source in (("jsonl", "export.jsonl"), ("csv", "export.csv")):
        report = work / f"report-{fmt}"
        out[f"audit-{fmt}.txt"] = _run(["audit", *rs, "--policy", family, "--workers", "2", "--out", str(report),
                                        source], work)
        for f in sorted(report.iterdir()):
            out[f"audit-{fmt}-{f.name.lstrip('.')}"] = f.read_text(encoding="utf-8")
    if len(versions) > 1:
        old, new = f"{family}@{versions[0]}", f"{family}@{versions[-1]}"
        for fmt in ("text", "json", "markdown"):
            out[f"impact.{fmt}"] = _run(["impact", *rs, "--workers", "2", "--format", fmt, old, new,
                                         "export.jsonl"], work)
        out["diff.txt"] = _run(["diff", *rs, old, new], work)
    out["log.txt"] = _run(["log", *rs, family], work)
    return out


def _compare(outputs: dict[str, str], folder: Path) -> None:
    if UPDATE:
        assert os.environ.get("CI") != "true", "golden files are never rewritten by CI"
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, text in outputs.items():
            (folder / name).write_text(text, encoding="utf-8", newline="")
    expected = {f.name: f.read_text(encoding="utf-8") for f in sorted(folder.iterdir())}
    assert sorted(outputs) == sorted(expected), "the set of outputs changed"
    changed = [name for name in outputs if outputs[name] != expected[name]]
    assert not changed, f"outputs differ from tests/golden/{folder.name}/: {changed}"


@pytest.mark.parametrize("family", FAMILIES)
def test_outputs_are_byte_identical_to_the_golden_files(family: str, tmp_path: Path) -> None:
    _compare(_outputs(family, tmp_path), GOLDEN / family)


def test_a_layered_ruleset_decides_as_it_did(tmp_path: Path) -> None:
    layered = ROOT / "examples" / "layered"
    rs = ["--rulesets", str(RULESETS), "--rulesets", str(layered)]
    incident = str(layered / "incident.json")
    outputs = {"decide.json": _run(["decide", *rs, "--policy", "example-city-il", "--format", "json", incident],
                                   tmp_path),
               "explain.txt": _run(["explain", *rs, "--policy", "example-city-il", incident], tmp_path)}
    _compare(outputs, GOLDEN / "layered")

"""Audit presets (engine/audit/presets): published audit methods as data, selected with `bwc audit --preset`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli

from engine.api import Library
from engine.audit import Auditor
from engine.audit.findings import CHECKS
from engine.audit.presets import PRESETS_DIR, ActivationMeasure, Source, load_preset, shipped_presets
from engine.audit.presets.activation import activation
from engine.io.columnmap import ColumnMapError

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"


def _generate(folder: Path, policy: str) -> Path:
    path = folder / f"{policy}.jsonl"
    code, _, stderr = run_cli(["generate", "--rulesets", str(RULESETS), "--policy", policy,
                               "--incidents", "150", "--seed", "5", "--violations", "0.2", str(path)])
    assert code == 0, stderr
    return path


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(tmp_path_factory.mktemp("presets"), "minnesota-13-825")


@pytest.fixture(scope="module")
def boston(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(tmp_path_factory.mktemp("presets"), "boston-bpcat-draft")


def _audit(tmp_path: Path, export: Path, policy: str, *args: str) -> tuple[dict[str, Any], str]:
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
    code, stdout, stderr = run_cli(["audit", "--rulesets", str(RULESETS), "--policy", policy, "--workers", "1",
                                    "--out", str(out), *args, str(export)])
    assert code == 0, stderr
    return json.loads((out / "summary.json").read_text(encoding="utf-8")), stdout


@pytest.mark.parametrize("name", shipped_presets())
def test_each_shipped_preset_names_its_sources_and_real_checks(name: str) -> None:
    preset = load_preset(name)
    assert preset.sources and all(s.url.startswith(("https://", "http://")) for s in preset.sources)
    assert preset.checks <= set(CHECKS)
    for element in preset.elements:
        assert element.checks or element.by_hand, f"{element.name}: neither checks nor why it is checked by hand"
    if preset.measure is not None:
        assert preset.measure.source.url in {s.url for s in preset.sources}


def test_the_preset_runs_only_its_checks(tmp_path: Path, export: Path) -> None:
    full, _ = _audit(tmp_path, export, "minnesota-13-825")
    chosen, stdout = _audit(tmp_path, export, "minnesota-13-825", "--preset", "minnesota-13-825-biennial")
    preset = load_preset("minnesota-13-825-biennial")
    assert set(chosen["counts"]["by_check"]) <= preset.checks
    for check in chosen["counts"]["by_check"]:  # the checks it keeps count exactly as in the full audit
        assert chosen["counts"]["by_check"][check] == full["counts"]["by_check"][check]
    assert chosen["preset"]["name"] == "minnesota-13-825-biennial"
    by_hand = [e["name"] for e in chosen["preset"]["elements"] if e["by_hand"]]
    assert "Inventory of portable recording system technology" in by_hand
    assert "Inventory of portable recording system technology: by hand" in stdout


def test_the_activation_preset_measures_calls_matched_to_recordings(tmp_path: Path, boston: Path) -> None:
    full, _ = _audit(tmp_path, boston, "boston-bpcat-draft")
    summary, stdout = _audit(tmp_path, boston, "boston-bpcat-draft", "--preset", "tempe-activation-1-25")
    assert len(full["counts"]["by_check"]) > 1, "the full audit runs checks the preset leaves out"
    assert summary["counts"]["by_check"]["camera_off_in_mandatory_window"] == \
        full["counts"]["by_check"]["camera_off_in_mandatory_window"]
    measure = summary["preset"]["measure"]
    assert measure["calls"] > 0 and 0 <= measure["matched"] <= measure["calls"]
    assert measure["percent"] == round(100.0 * measure["matched"] / measure["calls"], 2)
    assert "72%" in measure["published"][0]
    assert f"activation rate: {measure['matched']:,} of {measure['calls']:,} calls" in stdout
    assert set(summary["counts"]["by_check"]) == {"camera_off_in_mandatory_window"}


MEASURE = ActivationMeasure(kind="activation_rate", source=Source(url="https://example.org/x", says="x"),
                            min_on_scene_seconds=60)


def _incident(*events: tuple[str, str, str | None]) -> dict[str, Any]:
    return {"id": "I", "timezone": "UTC", "events": [
        {"type": t, "at": f"2024-01-01T{at}:00+00:00", **({"officer": o} if o else {})} for t, at, o in events]}


@pytest.mark.parametrize(("events", "expected"), [
    # on scene 10 minutes, recording started after dispatch: a matched call
    ([("dispatched", "10:00", "A"), ("arrived", "10:05", "A"), ("left_scene", "10:15", "A"),
      ("recording_started", "10:04", "A")], (1, 1)),
    # the recording names no officer: it counts for every officer
    ([("dispatched", "10:00", "A"), ("arrived", "10:05", "A"), ("left_scene", "10:15", "A"),
      ("recording_started", "10:06", None)], (1, 1)),
    # only another officer recorded, and that officer was never on scene: not matched
    ([("dispatched", "10:00", "A"), ("arrived", "10:05", "A"), ("left_scene", "10:15", "A"),
      ("recording_started", "10:06", "B")], (1, 0)),
    # the recording started before dispatch: not within the officer's time on the call
    ([("dispatched", "10:00", "A"), ("arrived", "10:05", "A"), ("left_scene", "10:15", "A"),
      ("recording_started", "09:59", "A")], (1, 0)),
    # under a minute on scene: not a call the method counts
    ([("dispatched", "10:00", "A"), ("arrived", "10:05", "A"), ("encounter_ended", "10:05", "A")], (0, 0)),
    # no documented arrival: not counted
    ([("dispatched", "10:00", "A"), ("left_scene", "10:15", "A"), ("recording_started", "10:01", "A")], (0, 0)),
    # two officers, the second eligible one recorded: matched
    ([("arrived", "10:05", "A"), ("left_scene", "10:15", "A"), ("arrived", "10:06", "B"),
      ("left_scene", "10:20", "B"), ("recording_started", "10:07", "B")], (1, 1)),
])
def test_activation_call_by_call(events: list[tuple[str, str, str | None]], expected: tuple[int, int]) -> None:
    assert activation(_incident(*events), MEASURE) == expected


def test_a_broken_preset_file_names_line_and_column(tmp_path: Path) -> None:
    text = (PRESETS_DIR / "minnesota-13-825-biennial.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("checks: [deleted_before_minimum, kept_past_maximum]",
                                "checks: [deleted_before_minimum, kept_past_maximun]"), encoding="utf-8")
    line = next(n for n, s in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if "kept_past_maximun" in s)
    with pytest.raises(ColumnMapError) as caught:
        load_preset(bad)
    assert f"{bad}:{line}:" in str(caught.value) and "`kept_past_maximun` is not a check" in str(caught.value)
    code, _, stderr = run_cli(["audit", "--rulesets", str(RULESETS), "--policy", "minnesota-13-825",
                               "--preset", str(bad), str(bad)])
    assert code == 1 and f"{bad}:{line}:" in stderr


def test_released_late_selects_the_release_check() -> None:
    library = Library.load(str(RULESETS))
    auditor = Auditor(library, "minnesota-13-825", frozenset({"released_late"}))
    assert auditor.checks == frozenset({"released_late", "not_released"})


# --- generate profiles calibrated to published findings ----------------------------------------------------

def test_each_shipped_profile_sources_every_rate() -> None:
    from engine.tools.generate import CHECKS as PLANTED
    from engine.tools.generate.profiles import load_profile, shipped_profiles

    assert shipped_profiles()
    for name in shipped_profiles():
        profile = load_profile(name)
        assert set(profile.rates) <= set(PLANTED)
        assert {r.source for r in profile.rates.values()} <= {s.url for s in profile.sources}
        shares = profile.shares()
        assert {c for c, s in shares.items() if s > 0} == {c for c, r in profile.rates.items() if r.share > 0}


def test_generate_with_a_profile_plants_only_its_kinds_at_its_shares(tmp_path: Path) -> None:
    from engine.tools.generate.profiles import load_profile

    out, truth = tmp_path / "export.jsonl", tmp_path / "truth.jsonl"
    code, _, stderr = run_cli(["generate", "--rulesets", str(RULESETS), "--policy", "illinois-50-ilcs-706-10-20",
                               "--incidents", "800", "--seed", "11", "--profile", "san-diego-2022",
                               "--truth", str(truth), str(out)])
    assert code == 0, stderr
    planted = [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines()]
    kinds = {p["check"] for p in planted}
    assert kinds == {"camera_off_in_mandatory_window", "deleted_before_minimum"} or \
        kinds == {"camera_off_in_mandatory_window"}  # 2% of 800 may, rarely, plant no deletion
    allowed = int(stderr.split("camera_off_in_mandatory_window: planted in ")[1].split(" of ")[1].split()[0])
    camera = len({p["incident_id"] for p in planted if p["check"] == "camera_off_in_mandatory_window"})
    share = load_profile("san-diego-2022").rates["camera_off_in_mandatory_window"].share
    assert abs(camera / allowed - share) < 0.06, (camera, allowed)


def test_profile_and_violations_are_exclusive_and_a_broken_profile_is_located(tmp_path: Path) -> None:
    from engine.tools.generate.profiles import PROFILES_DIR

    out = tmp_path / "export.jsonl"
    args = ["generate", "--rulesets", str(RULESETS), "--policy", "illinois-50-ilcs-706-10-20", "--incidents", "5"]
    code, _, stderr = run_cli([*args, "--profile", "san-diego-2022", "--violations", "0.1", str(out)])
    assert code == 2 and "not both" in stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text((PROFILES_DIR / "san-diego-2022.yaml").read_text(encoding="utf-8")
                   .replace("    share: 0.30\n", "    share: 1.30\n"), encoding="utf-8")
    line = next(n for n, s in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if "share: 1.30" in s)
    code, _, stderr = run_cli([*args, "--profile", str(bad), str(out)])
    assert code == 2 and f"{bad}:{line}:" in stderr.replace("\n", "")
    assert not out.exists()

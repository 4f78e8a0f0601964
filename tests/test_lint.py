"""`bwc lint`: each planted problem of tests/corpus/lint is found, with its rules (file and line) and an
example incident that `bwc decide` reproduces; the bundled rulesets give only the findings their READMEs
explain; bad input is refused as `bwc check` refuses it.

Each folder of the corpus holds one ruleset with one planted problem (and, for `extends`, the ruleset
it extends); its first lines say what `bwc lint` must find: `# expect: CODE RULE...`. The example of
each finding is decided again here through the command line (`bwc decide --format json`), and the
decision is read independently of the lint code to see that it shows the problem.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from budget import examples
from cli_runner import run_cli
from hypothesis import HealthCheck, example, given, settings
from strategies import ruleset_data

from engine.api import Library, RulesetError
from engine.tools.lint import CODES, FAST, lint
from engine.tools.lint.space import ABSENT, domain
from policy.conditions import Comparison
from policy.files import ruleset_files
from policy.vocabulary import core

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "lint"
RULESETS = ROOT / "rulesets"
KINDS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())

# The findings on the bundled rulesets, each explained in its ruleset's README (search for the code there).
_IL_90_DAYS = ("keep-until-final-disposition", "destroy-unflagged-after-90-days")
BUNDLED = {
    ("illinois-50-ilcs-706-10-20@2016.1.0", "BWL103", _IL_90_DAYS),
    ("illinois-50-ilcs-706-10-20@2021.1.0", "BWL103", _IL_90_DAYS),
}


def _expectation(folder: Path) -> tuple[Path, str, list[str]]:
    """The planted file (the one with `# expect:`), the code it must give and the rules it must name."""
    for f in sorted(folder.rglob("*.yaml")):
        m = re.search(r"^# expect: (BWL\d{3})(.*)$", f.read_text(encoding="utf-8"), re.M)
        if m:
            return f, m[1], m[2].split()
    raise AssertionError(f"{folder} has no `# expect:` line")


@pytest.fixture(scope="module")
def corpus_library() -> Library:
    return Library.load(CORPUS)


def _decide(folder: Path, policy: str, incident: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """The decision `bwc decide` makes of the example, as JSON."""
    path = tmp / "example.json"
    path.write_text(json.dumps(incident), encoding="utf-8")
    code, out, err = run_cli(["decide", "--rulesets", str(folder), "--policy", policy, "--format", "json", str(path)])
    assert code == 0, err
    decision: dict[str, Any] = json.loads(out)
    return decision


def _mine(decision: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [o for o in decision["obligations"] if o["rule"] == rule]


def _day(at: str, zone: str) -> date:
    return datetime.fromisoformat(at).astimezone(ZoneInfo(zone)).date()


def _unsettled(decision: dict[str, Any], kind: str, rules: list[str]) -> bool:
    return any(c["kind"] == kind and c["resolution"] == "unresolved" and set(c["rules"]) == set(rules)
               for c in decision["conflicts"])


def shows(code: str, rules: list[str], decision: dict[str, Any], zone: str, delay: int | None = None) -> bool:
    """Whether the decision shows the problem `code` names, read from the decision alone (`delay`: which
    `may_delay` entry a BWL403 finding is about, when there are several)."""
    if code in ("BWL101", "BWL102"):
        return _unsettled(decision, "effect", rules)
    if code == "BWL103":
        ret = decision["summary"]["retention"]
        return _unsettled(decision, "retention", rules) and str(ret["minimum"]) > str(ret["maximum"])
    if code == "BWL104":
        (release,) = _mine(decision, rules[0])
        openings = [_day(o["window"]["from"]["at"], zone) for o in decision["obligations"]
                    if o["kind"] == "record" and o["effect"] in ("must", "may") and o.get("window", {}).get("from", {})
                    .get("at")]
        return bool(openings) and date.fromisoformat(release["by"]) < min(openings)
    if code == "BWL105":
        (release,) = _mine(decision, rules[0])
        return date.fromisoformat(release["by"]) < _day(release["trigger"]["at"], zone)
    if code == "BWL201":
        target, winner = rules
        mine = _mine(decision, target)
        return bool(mine) and all(o.get("overridden_by") == winner for o in mine)
    if code == "BWL202":
        winner, loser = rules
        mine = _mine(decision, loser)
        return bool(_mine(decision, winner)) and bool(mine) and all(
            o.get("overridden_by") != winner and not any(s["rule"] == winner for s in o.get("suspended", []))
            for o in mine)
    if code in ("BWL301", "BWL302"):
        return decision["in_force"] and not _mine(decision, rules[0])
    if code == "BWL303":
        return any(layer["role"] == "base" and not layer["in_force"] for layer in decision["layers"])
    if code == "BWL401":
        mine = _mine(decision, rules[0])
        return bool(mine) and all(isinstance(o.get("retain_until", o.get("delete_by", o.get("by"))), dict)
                                  or o.get("promptly_after", {}).get("pending") for o in mine)
    if code == "BWL402":
        mine = _mine(decision, rules[0])
        return bool(mine) and all(o["window"]["from"].get("pending") for o in mine)
    if code == "BWL403":
        mine = _mine(decision, rules[0])
        return bool(mine) and all(not d["available"] for o in mine
                                  for k, d in enumerate(o["delays"]) if delay is None or k == delay)
    raise AssertionError(f"no reading of {code}")


def test_corpus_plants_every_code_in_at_least_twelve_kinds() -> None:
    planted = [_expectation(CORPUS / k) for k in KINDS]
    assert len(planted) >= 12
    assert {code for _, code, _ in planted} == set(CODES)


@pytest.mark.parametrize("kind", KINDS)
def test_planted_problem_is_found_with_an_example_decide_reproduces(kind: str, corpus_library: Library,
                                                                    tmp_path: Path) -> None:
    file, code, rules = _expectation(CORPUS / kind)
    ruleset = corpus_library.repository.resolve(file)
    report = lint(corpus_library, ruleset)
    assert [f.code for f in report.findings] == [code], [f.message for f in report.findings]
    (finding,) = report.findings
    lines = file.read_text(encoding="utf-8").splitlines()
    named = [p.rule for p in finding.rules if p.rule is not None]
    assert set(named) == set(rules)
    for place in finding.rules:
        assert Path(place.file).resolve() == file.resolve() or place.ruleset != ruleset.ref
        assert place.line is not None
        text = Path(place.file).read_text(encoding="utf-8").splitlines()[place.line - 1]
        assert (f"id: {place.rule}" in text) if place.rule else text.startswith("extends:")
    assert finding.at.line is not None and lines[finding.at.line - 1].strip()
    assert finding.example is not None, "every planted finding has an example incident"
    decision = _decide(CORPUS / kind, finding.example.policy, finding.example.incident, tmp_path)
    # The `# expect:` line names the rules in the order `shows` reads them (for BWL201: the rule set aside,
    # then the rule that overrides it; for BWL202: the rule naming the override, then the rule it names).
    assert shows(code, rules, decision, ruleset.timezone), json.dumps(decision, indent=1)[:3000]


def test_bundled_rulesets_give_only_the_findings_their_readmes_explain() -> None:
    library = Library.load(RULESETS)
    found = set()
    for rid in library.repository.ids():
        for version in library.repository.versions(rid):
            report = lint(library, library.repository.get(rid, version))
            for f in report.findings:
                found.add((report.ruleset, f.code, tuple(p.rule for p in f.rules)))
    assert found == BUNDLED
    for ref, code, _ in BUNDLED:
        readme = (RULESETS / ref.split("@")[0] / "README.md").read_text(encoding="utf-8")
        assert code in readme and ref.split("@")[1] in readme


def test_the_layered_example_gives_no_finding() -> None:
    """The city policy on top of the Illinois Act: its deletion conflicts with the statute, but the layers
    settle that (the statute prevails), so it is not a finding."""
    library = Library.load(RULESETS, ROOT / "examples" / "layered")
    report = lint(library, library.repository.get("example-city-il"))
    assert report.findings == []
    assert report.searched > 0


def _cli_lint(*argv: str) -> tuple[int, str, str]:
    return run_cli(["lint", *argv])


def test_exit_codes_follow_severity() -> None:
    code, out, _ = _cli_lint(str(CORPUS / "must-vs-must-not-record"))
    assert code == 1 and "error BWL101" in out
    code, out, _ = _cli_lint(str(CORPUS / "window-never-opens"))
    assert code == 0 and "warning BWL402" in out
    code, out, _ = _cli_lint(str(RULESETS / "colorado-24-31-902"))
    assert code == 0
    assert re.search(r"searched \d+ incidents; none found", out)


def test_text_names_rules_with_lines_and_a_reproducing_command() -> None:
    code, out, _ = _cli_lint(str(CORPUS / "retention-beyond-deletion"))
    assert code == 1
    assert "rules: keep-force-three-years (" in out and "1.0.0.yaml:15)" in out
    assert "reproduce: bwc decide --rulesets" in out and "--policy lint-retention-beyond-deletion@1.0.0" in out
    assert re.search(r"search: found at incident \d+ of the \d+ to search", out)


def test_bounded_search_says_so_when_it_finds_nothing() -> None:
    code, out, _ = _cli_lint("--limit", "2", str(RULESETS / "dc-24-dcmr-3900"))
    assert code == 0
    assert "none found; bounded" in out


def test_json_is_deterministic_and_complete() -> None:
    first = _cli_lint("--format", "json", str(CORPUS))
    second = _cli_lint("--format", "json", str(CORPUS))
    assert first == second and first[0] == 1
    doc = json.loads(first[1])
    codes = {f["code"] for r in doc["rulesets"] for f in r["findings"]}
    assert codes == set(CODES)
    assert doc["errors"] == sum(f["severity"] == "error" for r in doc["rulesets"] for f in r["findings"])
    one = next(f for r in doc["rulesets"] for f in r["findings"] if f["code"] == "BWL101")
    assert one["rules"][0]["line"] and one["example"]["incident"]["events"] and one["search"]["found_at"]


def test_write_examples_writes_each_once_and_never_replaces(tmp_path: Path) -> None:
    out = tmp_path / "examples"
    code, text, _ = _cli_lint("--write-examples", str(out), str(CORPUS / "release-before-request"))
    assert code == 1
    (written,) = sorted(out.iterdir())
    assert written.name == "lint-release-before-request@1.0.0-BWL105-release-on-request.json"
    command = re.search(r"reproduce: bwc (decide .*)$", text, re.M)
    assert command is not None
    dcode, dout, derr = run_cli([*command[1].split(), "--format", "json"])
    assert dcode == 0, derr
    assert shows("BWL105", ["release-on-request"], json.loads(dout), "America/Chicago")
    before = written.read_bytes()
    written.write_bytes(b"mine")
    code, _, err = _cli_lint("--write-examples", str(out), str(CORPUS / "release-before-request"))
    assert code == 1 and "already exists" in err and "Traceback" not in err
    assert written.read_bytes() == b"mine"
    code, _, _ = _cli_lint("--write-examples", str(out), "--overwrite", str(CORPUS / "release-before-request"))
    assert written.read_bytes() == before


def test_bad_paths_and_broken_yaml_are_refused_as_check_refuses_them(tmp_path: Path) -> None:
    code, out, err = _cli_lint(str(tmp_path / "missing.yaml"))
    assert code == 1 and "BWC001" in out + err and "Traceback" not in out + err
    broken = tmp_path / "broken.yaml"
    broken.write_text("ruleset: x\nrules: [\n", encoding="utf-8")
    code, out, err = _cli_lint(str(broken))
    # on standard error: they are why lint cannot run, not its report (`--format json` stays JSON)
    assert code == 1 and f"{broken}:" in err and "BWC004" in err and out == "" and "Traceback" not in err
    code, out, err = _cli_lint(str(broken), "--format", "json")
    assert code == 1 and out == "" and "BWC004" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _cli_lint(str(empty))
    assert code == 1 and "no ruleset file" in err


def test_check_runs_the_fast_subset_as_warnings() -> None:
    code, out, _ = run_cli(["check", str(CORPUS)])
    assert code == 0
    warned = set(re.findall(r"warning (BWL\d{3})", out))
    fast = {c.code for c in FAST}
    assert warned == fast == {"BWL202", "BWL302", "BWL303"}
    code, out, _ = run_cli(["check", str(RULESETS)])
    assert code == 0 and "warning" not in out


def test_domain_tells_apart_what_the_tests_tell_apart() -> None:
    vocab = core()
    level = vocab.attributes_of("use_of_force")["level"]
    assert domain(level, [Comparison.model_validate({"more_than": 2})], vocab) == (2, 1, 3, ABSENT)
    injury = vocab.attributes_of("use_of_force")["injury"]
    assert domain(injury, [Comparison.model_validate({"at_least": "substantial"})], vocab) == (
        "substantial", "minor", "great_bodily_injury", "none", ABSENT)
    uniform = vocab.facts["in_uniform"]
    assert domain(uniform, [Comparison.model_validate(True)], vocab) == (True, False)


def test_every_corpus_file_is_a_valid_ruleset() -> None:
    code, out, _ = run_cli(["check", str(CORPUS)])
    assert code == 0, out
    assert len(list(ruleset_files([CORPUS]))) == len(KINDS) + 1  # one base ruleset for `extends`


def test_the_example_in_docs_is_what_lint_prints() -> None:
    text = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    shown = re.search(r"```text\n(tests/corpus/lint/retention-beyond-deletion.*?)```", text, re.S)
    assert shown is not None
    code, out, _ = run_cli(["lint", "tests/corpus/lint/retention-beyond-deletion"], cwd=ROOT)
    assert code == 1 and out == shown[1]


# Found by the fuzz profile: a deletion set aside by a legal hold still conflicts with a minimum in the
# decision's list, but is not in force, so it is no finding (the pair scan wants both rules in force).
_HELD: dict[str, Any] = {
    "ruleset": "held", "version": "0.0.0", "title": "t", "status": "draft", "effective": {"from": "2000-01-01"},
    "timezone": "UTC", "drafted_by": "t", "sources": [{"id": "s", "title": "t"}],
    "rules": [
        {"id": "keep", "summary": "t", "cite": "s", "retain": {"at_least": "1 business day", "after": "dispatched"}},
        {"id": "delete", "summary": "t", "cite": "s", "when": {"event": "dispatched"},
         "delete": {"within": "1 business day", "after": "incident"}},
        {"id": "hold", "summary": "t", "cite": "s", "retain": {"legal_hold": True}},
    ]}


@settings(max_examples=examples(30), suppress_health_check=[HealthCheck.too_slow])
@example(data=_HELD)
@given(data=ruleset_data())
def test_every_example_lint_gives_shows_its_problem(data: dict[str, Any]) -> None:
    """On generated rulesets: lint never fails, and each example, decided again, shows what its finding says."""
    data.pop("extends", None)  # a ruleset on its own (the base it names is not there)
    with tempfile.TemporaryDirectory(prefix="bwc-lint-") as tmp:
        path = Path(tmp) / "ruleset.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        try:
            library = Library.load(path)
        except RulesetError:
            return  # generated data the checker refuses (names only a fuller vocabulary has): not a lint case
        ruleset = library.repository.resolve(path)
        report = lint(library, ruleset, limit=12)
        policy = library.policy(ruleset)
        for f in report.findings:
            assert f.code in CODES and f.at.line is not None
            if f.example is None:
                continue
            decision = policy.decide(f.example.incident).to_dict()
            rules = [p.rule or "" for p in f.rules]
            assert shows(f.code, rules, decision, ruleset.timezone, f.detail.get("delay")), (
                f.code, f.message, f.example.incident)

"""The repository: every version of every ruleset, checked against each other, and as-of lookups."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from policy.diagnostics import CODES, RulesetError
from policy.repository import Repository, UnknownFile, UnknownRuleset, UnknownVersion

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).parent / "corpus" / "repository"
IL = "illinois-50-ilcs-706-10-20"


@pytest.fixture(scope="module")
def repo() -> Repository:
    return Repository.load(ROOT / "rulesets")


def _errors(folder: str) -> list[tuple[str, str, int | None]]:
    with pytest.raises(RulesetError) as exc:
        Repository.load(CORPUS / folder)
    return [(d.code, Path(d.file).relative_to(CORPUS / folder).as_posix(), d.line) for d in exc.value.diagnostics]


def test_bundled_rulesets_load(repo: Repository) -> None:
    assert IL in repo.ids()
    # 2016.2.0 and 2021.2.0 correct the reading of 2016.1.0 and 2021.1.0 (same dates; issue 10), and
    # 2016.3.0 and 2021.3.0 correct those corrections in turn (notes only).
    assert repo.versions(IL) == ["2016.1.0", "2016.2.0", "2016.3.0", "2021.1.0", "2021.2.0", "2021.3.0"]
    assert repo.get(IL).version == "2021.3.0"
    assert repo.get(IL, "2016.1.0").status == "superseded"
    assert repo.get(IL, "2021.2.0").corrects == "2021.1.0"
    assert repo.get(IL, "2021.3.0").corrects == "2021.2.0"
    assert len(repo) == len(list(repo)) >= 7


@pytest.mark.parametrize(("day", "version"), [
    (date(2021, 6, 30), "2016.3.0"),  # the newest corrections, not the versions they correct
    (date(2021, 7, 1), "2021.3.0"),
    (date(2016, 1, 1), "2016.3.0"),
    (date(2030, 1, 1), "2021.3.0"),
    (date(2015, 12, 31), None),
])
def test_in_effect_illinois(repo: Repository, day: date, version: str | None) -> None:
    found = repo.in_effect(IL, day)
    assert (found.version if found else None) == version


def test_draft_and_proposed_are_never_in_effect(repo: Repository) -> None:
    assert repo.get("boston-bpcat-draft").status == "proposed"
    assert repo.in_effect("boston-bpcat-draft", date(2020, 1, 1)) is None
    ok = Repository.load(CORPUS / "ok")
    assert ok.versions("testville") == ["1.0.0", "1.1.0", "2.0.0"]
    assert ok.get("testville").version == "2.0.0"  # newest, even though it is a draft
    found = ok.in_effect("testville", date(2025, 1, 1))
    assert found is not None and found.version == "1.1.0"


def test_resolve(repo: Repository) -> None:
    assert repo.resolve(IL).version == "2021.3.0"
    assert repo.resolve(f"{IL}@2016.1.0").version == "2016.1.0"
    path = ROOT / "rulesets" / IL / "2016.1.0.yaml"
    r = repo.resolve(path)
    assert r.version == "2016.1.0"
    assert r is repo.resolve(str(path))
    assert repo.file_of(r).resolve() == path
    assert repo.digest(r).startswith("sha256:")
    # A file outside the repository is loaded on its own.
    outside = CORPUS / "missing-supersedes" / "2.0.0.yaml"
    assert repo.resolve(outside).ruleset == "testville"


def test_resolve_tells_an_id_named_like_a_file_and_a_path_that_is_no_file(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "rs" / "city.yml"  # `bwc check` accepts the id `city.yml`
    folder.mkdir(parents=True)
    text = (ROOT / "rulesets" / IL / "2016.1.0.yaml").read_text(encoding="utf-8")
    (folder / "2016.1.0.yaml").write_text(text.replace(f"ruleset: {IL}", "ruleset: city.yml", 1), encoding="utf-8")
    repo = Repository.load(tmp_path / "rs")
    monkeypatch.chdir(tmp_path)
    assert repo.resolve("city.yml").ruleset == "city.yml"  # no such file here: the id
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(UnknownFile, match="is not a ruleset file: it is a folder, a device or a pipe"):
        repo.resolve("folder.yaml")
    with pytest.raises(UnknownFile, match="is not a ruleset file"):
        repo.resolve("/dev/null")
    with pytest.raises(UnknownFile, match=r"no ruleset file `missing\.yaml`"):
        repo.resolve("missing.yaml")


def test_lookup_errors_say_what_was_meant(repo: Repository) -> None:
    with pytest.raises(UnknownRuleset, match="did you mean `illinois-50-ilcs-706-10-20`"):
        repo.get("illinois-50-ilcs-706-10-2")
    with pytest.raises(UnknownRuleset, match="did you mean `boston-rule-405`"):
        repo.resolve("rule-405")
    with pytest.raises(UnknownVersion, match=r"did you mean `2016\.1\.0`"):
        repo.get(IL, "2016.1.1")
    with pytest.raises(LookupError):
        repo.resolve(f"{IL}@9.9.9")
    with pytest.raises(LookupError):
        repo.resolve("no/such/file.yaml")


def test_base_of() -> None:
    ok = Repository.load(CORPUS / "ok")
    district = ok.get("testville-district")
    base = ok.base_of(district)
    assert base is not None and base.version == "1.1.0"  # newest in >=1.0.0 <2.0.0, not the 2.0.0 draft
    assert ok.base_of(ok.get("testville")) is None
    # Every version the range accepts, oldest first (the engine judges each incident by one of them).
    assert [r.version for r in ok.bases(district)] == ["1.0.0", "1.1.0"]
    assert ok.bases(district)[-1] is base
    assert ok.bases(ok.get("testville")) == []


def test_overlapping_enacted_versions() -> None:
    # 1.0.0 (superseded, until 2021-12-31) and 2.0.0 (adopted from 2021-07-01) overlap; 3.0.0 is a
    # proposal whose dates overlap 2.0.0, which is allowed.
    assert _errors("overlap") == [("BWC301", "2.0.0.yaml", 5)]


def test_supersedes_a_missing_version() -> None:
    assert _errors("missing-supersedes") == [("BWC302", "2.0.0.yaml", 8)]


def test_supersedes_a_later_version_or_itself() -> None:
    # 2.0.0 supersedes 1.0.0, which says it supersedes 2.0.0: a circle, found at its step back
    assert _errors("supersedes-later") == [("BWC309", "1.0.0.yaml", 8)]


def test_same_version_different_content() -> None:
    assert _errors("duplicate-different") == [("BWC303", "b/1.0.0.yaml", 2)]


def test_same_version_same_content_is_fine() -> None:
    repo = Repository.load(CORPUS / "duplicate-same")
    assert repo.versions("testville") == ["1.0.0"]
    assert repo.file_of(repo.get("testville")).as_posix().endswith("a/1.0.0.yaml")


def test_extends_a_missing_ruleset() -> None:
    with pytest.raises(RulesetError) as exc:
        Repository.load(CORPUS / "extends-missing")
    (d,) = exc.value.diagnostics
    assert (d.code, d.line) == ("BWC304", 8)
    assert "testvile" in d.message
    assert d.hint is not None and "testville-district" not in d.hint  # never suggests itself


def test_extends_range_no_version_satisfies() -> None:
    assert _errors("extends-range") == [("BWC305", "district-1.0.0.yaml", 8)]


def test_a_file_outside_the_repository_whose_extends_finds_nothing_is_said_as_such(repo: Repository,
                                                                                  tmp_path: Path) -> None:
    # `bwc score FILE` / `render FILE`: the file's `extends` is the problem, not the REF the user gave
    text = (CORPUS / "extends-missing" / "1.0.0.yaml").read_text(encoding="utf-8")
    assert "extends:" in text
    for extends, error in (("{ruleset: nowhere, version: '>=1.0.0'}", UnknownRuleset),
                           (f"{{ruleset: {IL}, version: '>=9999.0.0'}}", UnknownVersion)):
        path = tmp_path / f"{error.__name__}.yaml"
        path.write_text(re.sub(r"(?m)^extends: .*$", f"extends: {extends}", text), encoding="utf-8")
        ruleset = repo.resolve(path)
        with pytest.raises(error, match=rf"^`{ruleset.ref}` extends `[^`]+` \(its `extends:`\), but "):
            repo.base_of(ruleset)


def test_extends_itself() -> None:
    # Its range `>=1.0.0` accepts its own version: layering it on itself would never end.
    assert _errors("extends-self") == [("BWC306", "1.0.0.yaml", 6)]


def test_extends_in_a_circle() -> None:
    assert _errors("extends-cycle") == [("BWC306", "a-1.0.0.yaml", 6), ("BWC306", "b-1.0.0.yaml", 6)]


def test_a_later_version_may_extend_an_earlier_one_of_its_own(tmp_path: Path) -> None:
    # Not a circle: 2.0.0 builds on 1.0.0, which builds on nothing.
    base = (CORPUS / "extends-range" / "base-1.0.0.yaml").read_text(encoding="utf-8")
    (tmp_path / "1.0.0.yaml").write_text(base.replace("status: adopted", "status: superseded\n"
                                                      "effective: {from: 2020-01-01, until: 2020-12-31}")
                                         .replace("effective: {from: 2020-01-01}\n", "", 1), encoding="utf-8")
    (tmp_path / "2.0.0.yaml").write_text(base.replace("version: 1.0.0", "version: 2.0.0").replace(
        "effective: {from: 2020-01-01}", "effective: {from: 2021-01-01}\nextends: {ruleset: testville, "
        "version: 1.0.0}"), encoding="utf-8")
    repo = Repository.load(tmp_path)
    assert repo.base_of(repo.get("testville", "2.0.0")) is repo.get("testville", "1.0.0")


def test_extends_resolves_across_folders() -> None:
    # The base is found when both folders are loaded together.
    repo = Repository.load(CORPUS / "ok")
    assert repo.base_of(repo.get("testville-district")) is not None


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(RulesetError) as exc:
        Repository.load(CORPUS / "overlap", CORPUS / "extends-missing", CORPUS / "duplicate-different",
                        ROOT / "tests" / "corpus" / "broken" / "bad-duration.yaml")
    codes = {d.code for d in exc.value.diagnostics}
    assert {"BWC301", "BWC304", "BWC303", "BWC105"} <= codes


def test_new_codes_are_registered() -> None:
    for code in ("BWC301", "BWC302", "BWC303", "BWC304", "BWC305", "BWC306", "BWC309"):
        assert CODES[code]


def test_policy_does_not_import_engine() -> None:
    for name in ("repository.py", "diff.py", "describe.py"):
        text = (ROOT / "policy" / name).read_text(encoding="utf-8")
        assert "engine" not in "".join(line for line in text.splitlines() if line.startswith(("import", "from")))


def _draft(repo: Repository, version: str, **changes: str) -> str:
    """The text of Illinois 2021.2.0 as a new version (by default a draft), for `Repository.adding`."""
    text = (ROOT / "rulesets" / IL / "2021.2.0.yaml").read_text(encoding="utf-8")
    text = text.replace("version: 2021.2.0", f"version: {version}", 1)
    for old, new in changes.items():
        text = text.replace(old, new, 1)
    return text


def test_adding_a_version_checks_it_and_leaves_the_repository_unchanged(repo: Repository) -> None:
    text = _draft(repo, "2026.1.0", **{"status: adopted": "status: draft", "corrects: 2021.1.0\n": ""})
    bigger, entry = repo.adding(text, "request body")
    assert bigger.versions(IL)[-1] == "2026.1.0" and "2026.1.0" not in repo.versions(IL)
    assert (entry.ref, str(entry.file)) == (f"{IL}@2026.1.0", "request body")
    assert bigger.get(IL, "2021.2.0") is repo.get(IL, "2021.2.0")
    assert bigger.adding(text, "again") == (bigger, entry)  # the same version and content: nothing to add


def test_adding_refuses_what_load_refuses(repo: Repository) -> None:
    changed = _draft(repo, "2021.2.0", **{"corrects: 2021.1.0\n": ""})
    with pytest.raises(RulesetError) as exc:  # the same version, other content
        repo.adding(changed, "request body")
    assert [(d.code, d.file) for d in exc.value.diagnostics] == [("BWC303", "request body")]
    enacted = _draft(repo, "2026.1.0", **{"corrects: 2021.1.0\n": ""})
    with pytest.raises(RulesetError) as exc:  # adopted from 2021-07-01 with no end, as 2021.2.0 is
        repo.adding(enacted, "request body")
    assert "BWC301" in {d.code for d in exc.value.diagnostics}
    with pytest.raises(RulesetError) as exc:  # not YAML at all: located in the text
        repo.adding("ruleset: [unclosed\n", "request body")
    (d, *_) = exc.value.diagnostics
    assert d.file == "request body" and d.line is not None

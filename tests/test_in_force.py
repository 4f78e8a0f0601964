"""policy.in_force: the one place a family of versions is asked which of them judges a day (the engine's
version chooser, the amendment, conduct layers and Repository.in_effect all ask it)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from policy.in_force import in_force_during, judging, judging_version, version_in_force
from policy.model import Ruleset
from policy.repository import Repository

ROOT = Path(__file__).resolve().parent.parent
IL = "illinois-50-ilcs-706-10-20"


@pytest.fixture(scope="module")
def repo() -> Repository:
    return Repository.load(ROOT / "rulesets")


def _family(repo: Repository, rid: str) -> list[Ruleset]:
    return [e.ruleset for e in repo.entries(rid)]


def test_judging_leaves_out_corrected_and_never_enacted_versions(repo: Repository) -> None:
    assert [r.version for r in judging(_family(repo, IL))] == ["2016.3.0", "2021.3.0"]
    assert judging(_family(repo, "boston-bpcat-draft")) == []


@pytest.mark.parametrize(("day", "in_force", "judge"), [
    (date(2015, 12, 31), None, "2016.3.0"),  # before every version: the first that judges by date
    (date(2016, 1, 1), "2016.3.0", "2016.3.0"),
    (date(2021, 6, 30), "2016.3.0", "2016.3.0"),
    (date(2021, 7, 1), "2021.3.0", "2021.3.0"),
    (date(2030, 1, 1), "2021.3.0", "2021.3.0"),
])
def test_the_version_in_force_and_the_one_that_judges(repo: Repository, day: date, in_force: str | None,
                                                      judge: str) -> None:
    family = _family(repo, IL)
    found = version_in_force(family, lambda _: day)
    assert (found.version if found else None) == in_force
    assert found == repo.in_effect(IL, day)
    assert judging_version(family, lambda _: day).version == judge


def test_after_a_repeal_the_last_version_that_had_come_into_force_judges(repo: Repository) -> None:
    family = _family(repo, "california-pc-832-19")  # repealed: in force 2020-01-01 to 2022-12-31
    assert version_in_force(family, lambda _: date(2024, 1, 1)) is None
    assert judging_version(family, lambda _: date(2024, 1, 1)).version == "2020.3.0"


def test_a_family_of_proposals_is_judged_by_its_newest(repo: Repository) -> None:
    family = _family(repo, "boston-bpcat-draft")
    assert judging_version(family, lambda _: date(2020, 1, 1)) is family[-1]
    assert version_in_force(family, lambda _: date(2020, 1, 1)) is None


def test_a_version_without_a_day_is_passed_over(repo: Repository) -> None:
    family = _family(repo, IL)
    newest_only = {family[-1].version}
    found = version_in_force(family, lambda r: date(2030, 1, 1) if r.version in newest_only else None)
    assert found is family[-1]
    assert version_in_force(family, lambda _: None) is None
    assert judging_version(family, lambda _: None).version == "2016.3.0"


@pytest.mark.parametrize(("span", "versions"), [
    ((date(2020, 1, 1), date(2020, 12, 31)), ["2016.3.0"]),
    ((date(2020, 1, 1), date(2021, 7, 1)), ["2016.3.0", "2021.3.0"]),
    ((date(2021, 7, 1), date(2030, 1, 1)), ["2021.3.0"]),
    ((date(2010, 1, 1), date(2015, 12, 31)), []),
])
def test_the_versions_in_force_during_a_span(repo: Repository, span: tuple[date, date],
                                             versions: list[str]) -> None:
    assert [r.version for r in in_force_during(_family(repo, IL), lambda _: span)] == versions
    assert in_force_during(_family(repo, IL), lambda _: None) == []

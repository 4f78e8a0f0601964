"""The audit report folder (engine/audit/report.py): its files, determinism, and the HTML page opened in a
headless Chromium (its charts are in the DOM and the page renders to a non-blank image)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from engine.audit.report import csv_row, write_reports

CHROMIUM = "/usr/bin/chromium"


def _summary() -> dict[str, Any]:
    sev = {"violation": 3, "at_risk": 1, "compliant": 20, "not_applicable": 40}
    return {
        "as_of": None,
        "rulesets": ["illinois-50-ilcs-706-10-20@2021.1.0"],
        "input": {"format": "jsonl", "rows": 12, "incidents": 11, "skipped_rows": 1, "skipped_incidents": 1,
                  "skipped_reasons": {"not valid JSON": 1},
                  "errors": [{"line": 7, "incident": None, "message": "not valid JSON <script>"}]},
        "counts": {
            "by_severity": sev,
            "by_rule": {"keep-90-days": {"violation": 2, "compliant": 5},
                        "record-calls-for-service": {"violation": 1, "at_risk": 1, "compliant": 15}},
            "by_check": {"deleted_before_minimum": {"violation": 2, "compliant": 5},
                         "camera_off_in_mandatory_window": {"violation": 1, "compliant": 15},
                         "no_notice": {"at_risk": 1}},
            "by_month": {"2021-07": {"violation": 1, "compliant": 10}, "2021-08": {"violation": 2, "compliant": 10},
                         "2021-09": {"at_risk": 1}},
            "by_group": {"district": {"District 1": {"violation": 1}, "District 2": {"violation": 2}}},
            "incidents": {"by_severity": {"violation": 2, "at_risk": 1},
                          "by_check": {"deleted_before_minimum": {"violation": 1},
                                       "camera_off_in_mandatory_window": {"violation": 1},
                                       "no_notice": {"at_risk": 1}},
                          "by_rule": {"keep-90-days": {"violation": 1},
                                      "record-calls-for-service": {"violation": 1, "at_risk": 1}},
                          "by_group": {"district": {"District 1": {"checked": 4, "violation": 1},
                                                    "District 2": {"checked": 8, "violation": 1}}}},
            "not_applicable": {"did_not_apply": 38, "set_aside": 2},
        },
        "recording_coverage": {"required_seconds": 36000, "recorded_seconds": 34200, "percent": 95.0,
                               "by_month": {"2021-07": 97.5, "2021-08": 92.5, "2021-09": 100.0}},
        "rules": {"keep-90-days": {"summary": "Keep every recording <90 days> & more.", "cite": "ilcs (a)(7)(A)",
                                   "ruleset": "illinois-50-ilcs-706-10-20@2021.1.0"}},
    }


def _findings() -> list[dict[str, Any]]:
    base = {"ruleset": "illinois-50-ilcs-706-10-20@2021.1.0", "cite": "ilcs (a)(7)(A)", "kind": "retain",
            "check": "deleted_before_minimum", "expected": "keep until 2021-10-30", "actual": "deleted on 2021-09-01",
            "missed_by": "59 days", "month": "2021-08", "groups": {"district": "District 2"}}
    return [
        {**base, "incident_id": "A-1", "rule": "keep-90-days", "severity": "violation"},
        {**base, "incident_id": "A-2", "rule": "keep-90-days", "severity": "compliant"},
        {**base, "incident_id": "A-3", "rule": "record-calls-for-service", "severity": "at_risk", "missed_by": None,
         "check": "camera_off_in_mandatory_window", "groups": {}},
        {**base, "incident_id": "A-4", "rule": "keep-90-days", "severity": "not_applicable"},
    ]


def test_files_and_determinism(tmp_path: Path) -> None:
    write_reports(tmp_path / "a", _summary(), _findings())
    write_reports(tmp_path / "b", _summary(), iter(_findings()))
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["findings.csv", "report.html", "summary.csv", "summary.json"]
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes()
    assert json.loads((tmp_path / "a" / "summary.json").read_text()) == _summary()
    with (tmp_path / "a" / "findings.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["incident_id"], r["severity"]) for r in rows] == [("A-1", "violation"), ("A-3", "at_risk")]
    assert rows[0]["group.district"] == "District 2" and rows[1]["missed_by"] == ""
    with (tmp_path / "a" / "summary.csv").open(newline="") as fh:
        srows = list(csv.DictReader(fh))
    assert srows[0] == {"dimension": "severity", "key": "violation", "severity": "violation", "count": "3"}
    assert {"dimension": "group.district", "key": "District 2", "severity": "violation", "count": "2"} in srows
    assert {"dimension": "incidents.check", "key": "deleted_before_minimum", "severity": "violation",
            "count": "1"} in srows
    assert {"dimension": "incidents.group.district", "key": "District 2", "severity": "checked", "count": "8"} in srows
    assert {"dimension": "not_applicable", "key": "set_aside", "severity": "not_applicable", "count": "2"} in srows
    html = (tmp_path / "a" / "report.html").read_text()
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "&lt;script&gt;" in html  # input text is escaped
    for chart in ("violations-by-month", "violations-by-rule", "coverage-by-month"):
        assert f'id="{chart}"' in html


def _chromium() -> str | None:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{CHROMIUM} is missing: the browser test needs Debian's chromium "
                    "(apt-get update && apt-get install -y chromium; .ci/run does this)")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium); required in CI")
    return None


def _flags(profile: Path) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}"]


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode a (non-interlaced, 8-bit RGB or RGBA) PNG into rows of raw pixel bytes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def test_html_opens_in_headless_chromium_with_its_charts(tmp_path: Path) -> None:
    browser = _chromium()
    assert browser is not None
    out = tmp_path / "report"
    write_reports(out, _summary(), _findings())
    url = (out / "report.html").resolve().as_uri()
    dom = subprocess.run([browser, *_flags(tmp_path / "profile1"), "--dump-dom", url], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    for chart in ("violations-by-month", "violations-by-rule", "coverage-by-month"):
        assert f'id="{chart}"' in html, f"chart {chart} missing from the rendered DOM"
    assert html.count('class="bar violation"') >= 5  # 3 months + 2 rules
    assert html.count('class="bar coverage"') == 3
    shot = tmp_path / "r.png"
    run = subprocess.run([browser, *_flags(tmp_path / "profile2"), f"--screenshot={shot}", "--window-size=1100,1400",
                          url], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 1000
    width, height, rows = _png_pixels(shot)
    assert width > 500 and height > 500
    colours = {row[i:i + 3] for row in rows[::7] for i in range(0, len(row), 3 * 11)}
    assert len(colours) > 5, "the screenshot is blank"
    shutil.rmtree(tmp_path / "profile1", ignore_errors=True)


# --- what the page says (issue 14, item 4) ---------------------------------------------------------

def _page(summary: dict[str, Any], tmp_path: Path) -> str:
    write_reports(tmp_path, summary, [])
    return (tmp_path / "report.html").read_text(encoding="utf-8")


def test_incidents_are_counted_beside_findings(tmp_path: Path) -> None:
    html = _page(_summary(), tmp_path)
    assert '<div class="n">3</div><div class="l">Violations</div><div class="l">in 2 of 11 incidents</div>' in html
    # The early deletion: 2 violations (findings) in 1 incident.
    assert ("<td>Footage deleted before the end of its keeping period</td><td class=num>1</td><td class=num>2</td>"
            in html)


def test_rates_per_incident_for_each_group(tmp_path: Path) -> None:
    html = _page(_summary(), tmp_path)
    # District 2: 1 incident with a violation of 8 (12.5%), though 2 violations were found there.
    assert "<td>District 2</td><td class=num>8</td><td class=num>1</td><td class=num>12.5%</td><td class=num>2</td>" \
        in html
    assert "<th class=num>Rate (per incident)</th>" in html


def test_rules_are_shown_with_their_summary_and_cite(tmp_path: Path) -> None:
    html = _page(_summary(), tmp_path)
    assert ('<code>keep-90-days</code><div class="rule-text">Keep every recording &lt;90 days&gt; &amp; more.</div>'
            '<div class="cite">ilcs (a)(7)(A)</div>') in html
    assert "<code>record-calls-for-service</code></td>" in html  # a rule without its text: the id alone


def test_coverage_axis_shows_the_differences(tmp_path: Path) -> None:
    html = _page(_summary(), tmp_path)  # months at 92.5%, 97.5% and 100%: the axis starts at 80%
    chart = html[html.index('id="coverage-by-month"'):]
    chart = chart[:chart.index("</svg>")]
    assert ">80.0%</text>" in chart and ">0.0%</text>" not in chart
    assert "The scale runs from 80.0% to 100%, not from 0" in html
    assert ">92.5%</text>" in chart and ">97.5%</text>" in chart  # each bar labelled
    high = _summary()
    high["recording_coverage"]["by_month"] = {"2021-07": 99.1, "2021-08": 99.99, "2021-09": 99.6}
    chart = _page(high, tmp_path / "high")
    assert ">98.0%</text>" in chart and ">99.9%</text>" in chart and ">100.0%</text>" in chart
    assert chart.count(">100.0%</text>") == 1  # the axis top only: 99.99% is not shown as full compliance
    low = _summary()
    low["recording_coverage"]["by_month"] = {"2021-07": 20.0, "2021-08": 60.0}
    assert "not from 0" not in _page(low, tmp_path / "low")


def test_not_applicable_is_said_in_plain_words(tmp_path: Path) -> None:
    html = _page(_summary(), tmp_path)
    assert "not applicable" not in html.lower() and "Did not apply" not in html
    assert "Nothing to check (rule not triggered or set aside)" in html
    assert "what triggers it did not happen" in html
    assert "38 are rules that did not apply and 2 are rules set aside by another" in html


def test_a_summary_without_incident_counts_still_renders(tmp_path: Path) -> None:
    old = _summary()
    del old["counts"]["incidents"], old["rules"], old["counts"]["not_applicable"]
    html = _page(old, tmp_path)
    assert 'id="violations-by-rule"' in html and "Rate (per incident)" not in html


def test_tally_counts_an_incident_once_per_check() -> None:
    from engine.audit.findings import Finding, IncidentAudit, RuleChecks, UnappliedRules
    from engine.audit.tally import Tally

    def finding(rule: str, check: str, severity: str, actual: str = "") -> Finding:
        return Finding("I-1", "r@1", rule, "c", "retain", check, severity, "", actual, None,  # type: ignore[arg-type]
                       "2021-07", {"district": "D1"})

    deletion = [finding(r, "deleted_before_minimum", "violation") for r in ("keep-a", "keep-b", "keep-c")]
    one = IncidentAudit([*deletion, finding("stop", "recorded_while_prohibited", "not_applicable", "set aside by `x`")],
                        UnappliedRules((RuleChecks("r@1", "notify", "c", "notify", ("no_notice",)),)), "I-1", "2021-07",
                        {"district": "D1"}, 0.0, 0.0, ["r@1"])
    clean = IncidentAudit([finding("keep-a", "deleted_before_minimum", "compliant")], UnappliedRules(()), "I-2",
                          "2021-07", {"district": "D1"}, 0.0, 0.0, ["r@1"])
    tally, other = Tally(), Tally()
    tally.add(one)
    other.add(clean)
    tally.merge(other)
    assert tally.counts[("check", "deleted_before_minimum", "violation")] == 3  # findings
    assert tally.incident_counts[("check", "deleted_before_minimum", "violation")] == 1  # incidents
    assert tally.incident_counts[("severity", "violation", "violation")] == 1
    assert tally.incident_counts[("group.district", "D1", "checked")] == 2
    assert tally.incident_counts[("group.district", "D1", "violation")] == 1
    assert tally.not_applicable == {"did_not_apply": 1, "set_aside": 1}


def test_a_tally_counts_the_rules_that_did_not_apply_by_set_then_rule_by_rule() -> None:
    """An incident's rules that did not apply are added as one set (hashed once); folded, they are
    counted rule by rule, so a merged tally keeps as many keys as there are rules, whatever the mix of
    sets; a set that crossed from another process (pickled) is made again there, hash and all."""
    import pickle

    from engine.audit.findings import Finding, IncidentAudit, RuleChecks, UnappliedRules
    from engine.audit.tally import Tally

    rules = (RuleChecks("r@1", "notify", "c", "notify", ("no_notice",)),
             RuleChecks("r@1", "keep", "c", "retain", ("deleted_before_minimum", "kept_past_maximum")))
    seen: list[Finding] = []

    def audit(unapplied: UnappliedRules) -> IncidentAudit:
        return IncidentAudit(seen, unapplied, "I-1", "2021-07", {}, 0.0, 0.0, ["r@1"])

    copy = pickle.loads(pickle.dumps(UnappliedRules(rules)))
    assert copy == UnappliedRules(rules) and hash(copy) == hash(UnappliedRules(rules)) and copy.findings == 3
    here, there = Tally(), Tally()
    here.add(audit(UnappliedRules(rules)))
    there.add(audit(copy))
    there.add(audit(UnappliedRules(rules[:1])))
    assert there.unapplied_sets == {UnappliedRules(rules): 1, UnappliedRules(rules[:1]): 1}
    here.merge(pickle.loads(pickle.dumps(there)))
    counts = here.counts
    assert here.unapplied == {("notify", ("no_notice",)): 3,
                              ("keep", ("deleted_before_minimum", "kept_past_maximum")): 2}
    assert not here.unapplied_sets
    assert counts[("severity", "not_applicable", "not_applicable")] == 3 + 3 + 1
    assert counts[("rule", "keep", "not_applicable")] == 4 and counts[("rule", "notify", "not_applicable")] == 3
    assert counts[("check", "kept_past_maximum", "not_applicable")] == 2
    assert here.unapplied_months == {"2021-07": 7} and here.not_applicable == {"did_not_apply": 7}


_CELL = st.one_of(st.none(), st.integers(min_value=0), st.booleans(),
                  st.text(alphabet=st.sampled_from(',"\r\n\t\'=+-@ aé\x00\u2028'), max_size=8), st.text(max_size=8))


@pytest.mark.hypothesis
@given(st.lists(_CELL, min_size=1, max_size=6))
@example([",", '"', "\r", "\n", "a\rb", "=1"])
def test_a_csv_row_reads_back_as_its_cells_whatever_they_hold(cells: list[Any]) -> None:
    """One row, whatever its cells hold (commas, quotes, a lone carriage return, line breaks), and each
    cell read back as written: a text cell a spreadsheet would run has one quote in front, to drop."""
    line = csv_row(["id", *cells])  # (a row of one empty cell would read as an empty line, as in any CSV)
    assert line.endswith("\n")
    [row] = list(csv.reader(io.StringIO(line, newline=""), strict=True))
    expected = ["id"]
    for c in cells:
        text = "" if c is None else str(c)
        guarded = isinstance(c, str) and text.startswith(("=", "+", "-", "@", "\t", "\r", "'"))
        expected.append("'" + text if guarded else text)
    assert row == expected


@pytest.mark.parametrize("names", [64, 65])
def test_many_grouping_names_are_one_json_column_not_a_column_each(tmp_path: Path, names: int) -> None:
    """Incidents each naming a group of their own made findings.csv rows x names cells (66 MB from 2.4 MB);
    up to 64 names keep a column each, more are one `groups` column of JSON objects."""
    summary = _summary()
    summary["counts"]["by_group"] = {f"g{k:02}": {"x": {"violation": 1}} for k in range(names)}
    findings = [{**_findings()[0], "incident_id": f"A-{k}", "groups": {f"g{k:02}": "x,\"y\""}} for k in range(names)]
    write_reports(tmp_path, summary, findings)
    rows = list(csv.reader(io.StringIO((tmp_path / "findings.csv").read_text(encoding="utf-8"))))
    assert len(rows) == names + 1 and {len(r) for r in rows} == {len(rows[0])}
    if names <= 64:
        assert rows[0][-names:] == [f"group.g{k:02}" for k in range(names)] and rows[1][-names] == "x,\"y\""
    else:
        assert rows[0][-1] == "groups" and len(rows[0]) == 12
        assert [json.loads(r[-1]) for r in rows[1:]] == [{f"g{k:02}": "x,\"y\""} for k in range(names)]

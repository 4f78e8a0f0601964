"""`bwc render` (engine/tools/render): every bundled ruleset version as an HTML page and a Markdown document,
two side by side, hostile ruleset text kept inert in both forms, the command line, and every page opened in
one headless Chromium (its DOM holds each rule's summary, its screenshot is not blank)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from cli_runner import run_cli
from test_report import _chromium, _flags, _png_pixels

from engine.tools.render import render_comparison, render_ruleset
from engine.tools.render.document import TOPICS
from policy.markdown import block
from policy.model import Ruleset
from policy.repository import Repository

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
LAYERED = ROOT / "examples" / "layered"
BPCAT, RULE_405 = "boston-bpcat-draft@2016.1.0", "boston-rule-405@2019.1.0"


@pytest.fixture(scope="module")
def repo() -> Repository:
    return Repository.load(RULESETS, LAYERED)


def _versions() -> list[str]:
    bundled = Repository.load(RULESETS, LAYERED)
    return [e.ref for rid in bundled.ids() for e in bundled.entries(rid)]


VERSIONS = _versions()


class _Page(HTMLParser):
    """The tags, attributes and text of a page, read the way a browser tokenizes it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _text(html: str) -> str:
    return " ".join(" ".join(_page(html).text).split())


def _inert(html: str) -> None:
    """Nothing in the page can run or fetch: no script, no event handler, links only to http(s) or the page."""
    for tag, attrs in _page(html).tags:
        assert tag not in ("script", "iframe", "img", "object", "embed", "form", "base", "link"), tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        href = attrs.get("href")
        if href is not None:
            assert href.startswith(("#", "http://", "https://")), href


# --- every bundled version ---------------------------------------------------------------------------------

@pytest.mark.parametrize("ref", VERSIONS)
def test_every_version_renders_in_both_forms(repo: Repository, ref: str) -> None:
    ruleset = repo.resolve(ref)
    html = render_ruleset(repo, ruleset, "html")
    markdown = render_ruleset(repo, ruleset, "markdown")
    assert html == render_ruleset(repo, ruleset, "html"), "the same ruleset gives the same bytes"
    _inert(html)
    text = _text(html)
    for r in ruleset.rules:
        assert " ".join(r.summary.split()) in text, r.id
        assert f'id="rule-{r.id}"' in html
        assert block(r.summary) in markdown, r.id
    for part in (ruleset.ref, repo.digest(ruleset), ruleset.effective.from_.isoformat(), ruleset.status.value):
        assert part in text and part in markdown
    headings = [f"{i}. {t.title}" for i, t in enumerate(TOPICS, 1)]
    assert [markdown.index(f"## {h}\n") for h in headings] == sorted(markdown.index(f"## {h}\n") for h in headings)


def test_rules_are_grouped_by_topic_in_ruleset_order(repo: Repository) -> None:
    ruleset = repo.resolve(BPCAT)
    html = render_ruleset(repo, ruleset, "html")
    topic_at = [html.index(f'id="topic-{t.key}"') for t in TOPICS]
    assert topic_at == sorted(topic_at)
    group = {"record": 0, "notify": 0, "retain": 1, "delete": 1, "access": 2, "release": 3}
    positions = [(group[r.kind], html.index(f'id="rule-{r.id}"')) for r in ruleset.rules]
    for (g, at), (g2, at2) in pairwise(positions):
        if g == g2:
            assert at < at2, "within a topic, rules keep the ruleset's order"
    for g, at in positions:
        assert topic_at[g] < at and (g == len(TOPICS) - 1 or at < topic_at[g + 1])


def test_a_rule_shows_its_clause_source_confidence_and_what_it_encodes(repo: Repository) -> None:
    html = render_ruleset(repo, repo.resolve("illinois-50-ilcs-706-10-20@2021.2.0"), "html")
    text = _text(html)
    assert "(a)(3)" in text and "50 ILCS 706/10-20, Requirements" in text
    assert 'href="http://ilga.gov/legislation/ilcs/fulltext.asp?DocName=005007060K10-20"' in html
    assert "at least 90 days after the incident" in text
    assert "Corrects" in text and "2021.1.0" in text and "Supersedes" in text
    unverified = html.split('id="rule-', 1)[1]
    assert "⚠ Unverified" in html and "needs checking" in unverified
    assert 'class="rule confidence-unverified"' in html


def test_a_layered_ruleset_shows_its_base_layer(repo: Repository) -> None:
    ruleset = repo.resolve("example-city-il")
    html = render_ruleset(repo, ruleset, "html")
    markdown = render_ruleset(repo, ruleset, "markdown")
    assert 'id="base-1"' in html and "builds on another" in html
    base = repo.base_of(ruleset)
    assert base is not None
    assert f'id="base1-rule-{base.rules[0].id}"' in html
    assert "## The base layer" in markdown and f"`{base.ref}`" in markdown
    assert html.index('id="sources"') > html.index('id="base-1"')


# --- comparing -----------------------------------------------------------------------------------------------

def test_compare_pairs_rules_by_topic_and_id(repo: Repository) -> None:
    left, right = repo.resolve(BPCAT), repo.resolve(RULE_405)
    html = render_comparison(repo, left, right, "html")
    _inert(html)
    assert BPCAT in html and RULE_405 in html
    a, b = html.index('id="left-rule-record-vehicle-stops"'), html.index('id="right-rule-record-vehicle-stops"')
    assert a < b and 'id="left-rule-' not in html[a + 10:b], "rules with the same id sit side by side"
    only_right = next(r.id for r in right.rules if r.id not in {x.id for x in left.rules})
    assert f"No rule <code>{only_right}</code> here." in html
    text = _text(html)
    for r in (*left.rules, *right.rules):
        assert " ".join(r.summary.split()) in text, r.id
    markdown = render_comparison(repo, left, right, "markdown")
    row = next(line for line in markdown.splitlines() if line.startswith("| **`record-vehicle-stops`**"))
    assert row.count("`record-vehicle-stops`") == 2
    assert [markdown.index(f"## {i}. {t.title}") for i, t in enumerate(TOPICS, 1)] == sorted(
        markdown.index(f"## {i}. {t.title}") for i, t in enumerate(TOPICS, 1))


# --- hostile text --------------------------------------------------------------------------------------------

HOSTILE_SUMMARY = ("<script>alert(1)</script> [click](javascript:alert(2)) ](javascript:alert(3)) "
                   "<img src=x onerror=alert(4)> | a | b | &lt;b&gt; *bold* `code")
HOSTILE = {
    "ruleset": "hostile-city", "version": "1.0.0", "title": "</title><script>alert(5)</script> # Title",
    "status": "draft", "effective": {"from": "2024-01-01"}, "timezone": "America/Chicago",
    "drafted_by": "- [x](javascript:alert(6)) <b onmouseover=alert(7)>drafter</b>",
    "notes": "# Not a heading\n\n1. not a list <a href='javascript:alert(8)'>x</a>\n\n> not a quote `left_scene`",
    "sources": [{"id": "src", "title": "[t](javascript:alert(9)) <i>source</i>",
                 "url": "https://example.org/a?b=\"c\"&d=<e>"}],
    "rules": [
        {"id": "keep", "summary": HOSTILE_SUMMARY, "cite": "src §1 <u>[y](javascript:alert(10))</u>",
         "confidence": "unverified", "notes": "\"quoted\" <style>body{display:none}</style> ![i](http://x/i.png)",
         "retain": {"at_least": "P90D", "after": "incident"}},
        {"id": "open", "summary": "= not an underline", "cite": "src",
         "record": {"effect": "must", "from": "incident"}},
    ],
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "rulesets" / "hostile-city"
    folder.mkdir(parents=True)
    # JSON is YAML: the strings go into the file exactly as written here
    (folder / "1.0.0.yaml").write_text(json.dumps(HOSTILE, ensure_ascii=False), encoding="utf-8")
    return folder.parent


def _hostile(hostile: Path) -> tuple[Repository, Ruleset]:
    repo = Repository.load(hostile)
    return repo, repo.resolve("hostile-city")


def test_hostile_text_stays_text_in_html(hostile: Path) -> None:
    repo, ruleset = _hostile(hostile)
    for html in (render_ruleset(repo, ruleset, "html"), render_comparison(repo, ruleset, ruleset, "html")):
        _inert(html)
        page = _page(html)
        assert [t for t, _ in page.tags].count("style") == 1  # the page's own, not the notes'
        assert [t for t, _ in page.tags].count("title") == 1
        assert not [t for t, _ in page.tags if t in ("b", "i", "u")]
        text = _text(html)
        assert " ".join(HOSTILE_SUMMARY.split()) in text
        assert HOSTILE["title"] in text
    html = render_ruleset(repo, ruleset, "html")
    hrefs = [a["href"] for t, a in _page(html).tags if t == "a" and a.get("href", "#")[:1] != "#"]
    assert hrefs and all(h is not None and h.startswith("https://example.org/") and '"' not in h for h in hrefs)


def _markdown_html(text: str) -> str:
    markdown_it = pytest.importorskip("markdown_it")
    return str(markdown_it.MarkdownIt("commonmark").enable("table").render(text))


def test_hostile_text_stays_text_in_markdown(hostile: Path) -> None:
    repo, ruleset = _hostile(hostile)
    for markdown in (render_ruleset(repo, ruleset, "markdown"), render_comparison(repo, ruleset, ruleset, "markdown")):
        html = _markdown_html(markdown)
        _inert(html)
        tags = [t for t, _ in _page(html).tags]
        assert "style" not in tags and tags.count("h1") == 1 and tags.count("blockquote") <= 1
        text = _text(html)
        assert " ".join(HOSTILE_SUMMARY.split()) in text
        assert "= not an underline" in text
        hrefs = [a.get("href") for t, a in _page(html).tags if t == "a"]
        assert all(h is not None and (h.startswith(("#", "https://example.org/"))) for h in hrefs), hrefs
        assert "javascript:" not in " ".join(h or "" for h in hrefs)
    markdown = render_ruleset(repo, ruleset, "markdown")
    html = _markdown_html(markdown)
    assert "# Not a heading" in _text(html)  # the notes' heading, list and quote are text
    assert [t for t, _ in _page(html).tags].count("h1") == 1
    table = [t for t, _ in _page(html).tags]
    assert table.count("tr") == 8  # the title block: header row + 7 facts, whatever `|` the data holds


# --- the command line ---------------------------------------------------------------------------------------

def test_cli_writes_to_stdout_in_each_format() -> None:
    code, out, err = run_cli(["render", "--rulesets", str(RULESETS), BPCAT])
    assert code == 0, err
    assert out.startswith("<!DOCTYPE html>") and BPCAT in out
    code, out, err = run_cli(["render", "--rulesets", str(RULESETS), "--format", "markdown", BPCAT,
                              "--compare", RULE_405])
    assert code == 0, err
    assert out.startswith(f"# Side by side: `{BPCAT}` and `{RULE_405}`")


def test_cli_writes_a_file_and_refuses_to_overwrite_it(tmp_path: Path) -> None:
    out = tmp_path / "bpcat.html"
    argv = ["render", "--rulesets", str(RULESETS), BPCAT, "--out", str(out)]
    code, stdout, err = run_cli(argv)
    assert code == 0, err
    assert stdout == "" and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    out.write_text("mine", encoding="utf-8")
    code, _, err = run_cli(argv)
    assert code == 1 and "already exists" in err and "--overwrite" in err and "Traceback" not in err
    assert out.read_text(encoding="utf-8") == "mine"
    code, _, err = run_cli([*argv, "--overwrite"])
    assert code == 0, err
    assert out.read_text(encoding="utf-8") != "mine"
    code, _, err = run_cli(["render", "--rulesets", str(RULESETS), BPCAT, "--out", str(tmp_path / "no" / "x.html")])
    assert code == 1 and "does not exist" in err


@pytest.mark.parametrize(("argv", "words"), [
    (["no-such-ruleset"], "no-such-ruleset"),
    (["boston-bpcat-draft@9.9.9"], "9.9.9"),
    ([BPCAT, "--compare", "boston-rule-406"], "boston-rule-406"),
    ([BPCAT, "--format", "pdf"], "pdf"),
])
def test_cli_reports_a_bad_reference_in_one_line(tmp_path: Path, argv: list[str], words: str) -> None:
    out = tmp_path / "never.html"
    code, stdout, err = run_cli(["render", "--rulesets", str(RULESETS), *argv, "--out", str(out)])
    assert code in (1, 2) and words in err and "Traceback" not in err + stdout
    assert not out.exists()


# --- in a browser ---------------------------------------------------------------------------------------------

class _DevTools:
    """Chromium's DevTools protocol over `--remote-debugging-pipe` (fd 3 in, fd 4 out, messages ending in
    NUL): one browser opens every page, so that the test costs one launch however many rulesets there are."""

    def __init__(self, browser: str, profile: Path) -> None:
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()

        def pipes_at_3_and_4() -> None:
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen([browser, *_flags(profile), "--remote-debugging-pipe", "about:blank"],
                                     pass_fds=(3, 4), preexec_fn=pipes_at_3_and_4,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.out: BinaryIO = os.fdopen(to_chrome_w, "wb", buffering=0)
        self.inp: BinaryIO = os.fdopen(from_chrome_r, "rb", buffering=0)
        self.buffer, self.n = b"", 0

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            chunk = self.inp.read(1 << 16)
            assert chunk, "Chromium closed its DevTools pipe"
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        result: dict[str, Any] = json.loads(message)
        return result

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             until: str | None = None) -> dict[str, Any]:
        self.n += 1
        message: dict[str, Any] = {"id": self.n, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self.out.write(json.dumps(message).encode() + b"\0")
        result: dict[str, Any] | None = None
        seen = until is None
        while result is None or not seen:
            m = self._message()
            if m.get("id") == self.n:
                assert "error" not in m, m["error"]
                result = m["result"]
            elif m.get("method") == until:
                seen = True
        return result

    def pages(self, files: list[Path], width: int, height: int) -> Iterator[tuple[Path, str, bytes]]:
        """Each file opened in one tab: its DOM as the browser built it, and a PNG of its first screen (at half
        its size)."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False}, session=session)
        for file in files:
            self.call("Page.navigate", {"url": file.resolve().as_uri()}, session=session, until="Page.loadEventFired")
            dom = self.call("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                                 "returnByValue": True}, session=session)["result"]["value"]
            # at half scale: the pixels are decoded in pure Python (test_report._png_pixels), four times fewer
            clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 0.5}
            shot = base64.b64decode(self.call("Page.captureScreenshot", {"format": "png", "clip": clip},
                                              session=session)["data"])
            yield file, dom, shot

    def close(self) -> None:
        try:
            self.call("Browser.close")
        finally:
            self.out.close()
            self.inp.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def test_every_page_opens_in_headless_chromium(repo: Repository, hostile: Path, tmp_path: Path) -> None:
    browser = _chromium()
    assert browser is not None
    pages: dict[Path, list[str]] = {}  # file -> the summaries its DOM must hold
    for ref in VERSIONS:
        ruleset = repo.resolve(ref)
        file = tmp_path / f"{ref}.html"
        file.write_text(render_ruleset(repo, ruleset, "html"), encoding="utf-8")
        pages[file] = [r.summary for r in ruleset.rules]
    left, right = repo.resolve(BPCAT), repo.resolve(RULE_405)
    file = tmp_path / "compare.html"
    file.write_text(render_comparison(repo, left, right, "html"), encoding="utf-8")
    pages[file] = [r.summary for r in (*left.rules, *right.rules)]
    hostile_repo, hostile_ruleset = _hostile(hostile)
    file = tmp_path / "hostile.html"
    file.write_text(render_ruleset(hostile_repo, hostile_ruleset, "html"), encoding="utf-8")
    pages[file] = [HOSTILE_SUMMARY]

    devtools = _DevTools(browser, tmp_path / "profile")
    try:
        seen = 0
        for file, dom, shot in devtools.pages(list(pages), 1100, 1400):
            seen += 1
            text = _text(dom)
            for summary in pages[file]:
                assert " ".join(summary.split()) in text, (file.name, summary)
            assert "<script" not in dom, file.name  # hostile text never became an element
            png = tmp_path / f"{file.stem}.png"
            png.write_bytes(shot)
            width, height, rows = _png_pixels(png)
            assert (width, height) == (550, 700), file.name
            colours = {row[i:i + 3] for row in rows[::5] for i in range(0, len(row), 3 * 7)}
            assert len(colours) > 5, f"the screenshot of {file.name} is blank"
        assert seen == len(pages)
    finally:
        devtools.close()

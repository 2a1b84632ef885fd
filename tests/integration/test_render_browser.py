"""The HTML graph in a real browser: headless Chromium (Debian's ``chromium``) via Playwright.

Opens a rendered scene from a file URL and uses it as an analyst would: click an agent,
pick a finding, filter by severity, move the time slider, take a screenshot; then
measures first paint at 5,000 edges. Without Chromium or Playwright the test is skipped,
except under ``CI=true`` where it fails: ``.ci/run`` must install them (apt ``chromium``,
pip extra ``render``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from render_scenes import planted, synthetic
from support import importable, require_all

from delegation.graph.render import render

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def _chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return ""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by Playwright; skip (fail under CI=true) without one."""
    executable = _chromium()
    needs = {
        "a chromium executable (apt-get install chromium)": bool(executable),
        "playwright (pip install -e '.[render]')": importable("playwright"),
    }
    require_all("the browser test", needs)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, headless=True)
        yield b
        b.close()


class Watched:
    """A page with its console errors and every request it made recorded."""

    def __init__(self, browser: Any, url: str) -> None:
        self.url = url
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1500, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='1']", timeout=15000)

    def count(self, selector: str) -> int:
        n: int = self.page.locator(selector).count()
        return n

    def opacity(self, selector: str) -> float:
        return float(
            self.page.eval_on_selector(
                selector,
                "e => getComputedStyle(e).opacity * getComputedStyle(e.parentNode).opacity",
            )
        )


def test_scene_in_a_real_browser(browser: Any, tmp_path: Path) -> None:
    (tmp_path / "scene").mkdir()
    scene, graph, findings = planted(tmp_path / "scene")
    [finding] = findings
    out = tmp_path / "graph.html"
    out.write_text(render(graph, findings, "html"), encoding="utf-8")
    w = Watched(browser, out.as_uri())
    page = w.page
    a1 = scene.agent(1).agent

    # click an agent: the side panel shows the claims of the token it holds
    page.click(f'g.node[aria-label="agent {a1}"]')
    panel = page.inner_text("#facts")
    assert f"agent: {a1}" in panel and "Tokens held (1)" in panel
    for fact in ("iss", scene.agent(0).agent, "task", "T-1", "obo", "user:alice"):
        assert fact in panel
    assert "crm.read:customers/eu/**" in panel and "Findings" in panel and "DLG001" in panel

    # pick the finding: its witness path is highlighted, the rest dimmed
    page.click('#findings button[data-f="0"]')
    assert "dim" in (page.get_attribute("#graph", "class") or "")
    assert w.count(".edge.hl") == len(finding.path) == 3
    assert w.count(".node.hl") == 4
    assert w.opacity(".node.hl") == 1.0
    assert w.opacity(f'g.node[aria-label="agent {scene.agent(4).agent}"]') < 0.2
    assert "Witness path" in page.inner_text("#facts")
    page.keyboard.press("Escape")
    assert "dim" not in (page.get_attribute("#graph", "class") or "")

    # severity filter: without critical, the finding and its badge go; with "only what
    # findings involve", so does every edge
    page.uncheck("#sev-critical")
    assert not page.is_visible('#findings li[data-f="0"]')
    assert not page.is_visible("#f0")
    page.check("#only")
    assert w.count(".edge:not(.hid)") == 0 and w.count(".node:not(.hid)") == 0
    page.check("#sev-critical")
    assert w.count(".edge:not(.hid)") == 3 and page.is_visible("#f0")
    page.uncheck("#only")
    total = graph.graph.number_of_edges()
    assert w.count(".edge:not(.hid)") == total

    # time slider: the window's end at the first second hides what happened later
    late = f'g.node[aria-label="agent {scene.agent(5).agent}"]'
    assert page.is_visible(late)
    page.focus("#t-to")
    page.keyboard.press("Home")
    assert not page.is_visible(late)
    assert page.is_visible(f'g.node[aria-label="agent {scene.agent(0).agent}"]')
    assert 0 < w.count(".edge:not(.hid)") < total
    page.keyboard.press("End")
    assert w.count(".edge:not(.hid)") == total

    # keyboard: n picks the next finding, search finds an agent
    page.click("#canvas", position={"x": 5, "y": 5})
    page.keyboard.press("n")
    assert w.count(".edge.hl") == 3
    page.fill("#search", "agent/a3")
    page.press("#search", "Enter")
    assert f"agent: {scene.agent(3).agent}" in page.inner_text("#facts")
    page.click('#findings button[data-f="0"]')

    shot = tmp_path / "graph.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot} ({out.stat().st_size} bytes of HTML)")
    assert w.errors == []
    assert w.requests == [out.as_uri()]  # the file itself, nothing else
    page.close()


def test_first_paint_at_5000_edges(browser: Any, tmp_path: Path) -> None:
    graph = synthetic(5000)
    assert graph.graph.number_of_edges() >= 5000
    out = tmp_path / "big.html"
    out.write_text(render(graph, [], "html"), encoding="utf-8")
    w = Watched(browser, out.as_uri())
    paint = w.page.evaluate(
        "performance.getEntriesByType('paint')"
        ".filter(e => e.name === 'first-contentful-paint').map(e => e.startTime)[0]"
    )
    print(f"first contentful paint at {graph.graph.number_of_edges()} edges: {paint:.0f} ms")
    assert paint < 2000
    w.page.click(".bandlabel[data-b='0']")  # expand a band: its agents appear
    assert w.count("#b0 .node") > 0 and w.page.is_visible("#b0 .node")
    assert w.errors == [] and w.requests == [out.as_uri()]
    w.page.close()


def test_the_demos_graph_in_a_real_browser(browser: Any, tmp_path: Path) -> None:
    """The demo's own graph.html: no console error, no request, its findings listed; a PNG."""
    from delegation.demo import EXPECTED_RULES, play_demo

    report = play_demo(tmp_path / "demo")
    assert report.ok
    page_file = tmp_path / "demo" / "graph.html"
    w = Watched(browser, page_file.as_uri())
    assert w.errors == [] and w.requests == [page_file.as_uri()]
    listed = w.page.inner_text("#findings")
    assert f"Findings ({len(report.findings)})" in listed
    for rule in EXPECTED_RULES:
        assert rule in listed
    shot = tmp_path / "demo-graph.png"
    w.page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    print(f"demo screenshot: {shot} ({page_file.stat().st_size} bytes of HTML)")

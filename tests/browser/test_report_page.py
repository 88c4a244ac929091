"""The report as its reader opens it: the HTML file in Chromium, offline, its timeline drawn."""

from __future__ import annotations

from tests.browser.conftest import SCREENSHOTS, expect
from tests.scenarios.test_report import declared_updated_resolved


def test_the_report_file_opens_offline_with_its_timeline_axes_and_milestones(browser, account, tmp_path):
    declared_updated_resolved(account, tmp_path)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    asked: list[str] = []

    def offline(route):
        # The file itself is all the page may load: anything else would be a CDN or a leak at view time.
        if not route.request.url.startswith("file://"):
            asked.append(route.request.url)
            return route.abort()
        return route.continue_()

    context.route("**/*", offline)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((tmp_path / "report.html").as_uri())

    chart = page.locator("#timeline svg")
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("time (UTC)")
    expect(chart).to_contain_text("new affected tickets per 5 min")
    for label in ("outage start", "declared", "update 1", "resolved"):
        expect(chart).to_contain_text(label)
    for kind in ("start", "declared", "update", "resolved"):
        expect(page.locator(f"#timeline svg [id^='marker-{kind}-']")).to_have_count(1)
    assert chart.bounding_box()["width"] > 600  # a chart, not a strip of 94 pixels
    expect(page.locator("#times")).to_contain_text("channel")
    expect(page.locator("#sources")).to_contain_text("found by the search when the incident was declared")

    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=True)
    context.close()
    assert asked == [] and errors == []

"""The pages a daily MLflow user opens, on data logged by the real mlflow client (sklearn autolog,
a training loop, log_table), in headless Chromium: what was wrong or broken before."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect
from server_process import ServerProcess
from ui_support import screenshot

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def logged(tmp_path_factory, webui_dist):
    tmp = tmp_path_factory.mktemp("client-logged")
    server = ServerProcess(
        ["--workers", "1", "--backend-store-uri", f"sqlite:///{tmp}/db.sqlite", "--artifacts-destination", f"{tmp}/a"],
        tmp,
    ).wait_ready("/health", 60)
    env = {**os.environ, "MLFLOW_TRACKING_URI": server.url, "GIT_PYTHON_REFRESH": "quiet"}
    r = subprocess.run(
        [sys.executable, str(HERE / "client_seed.py")], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads(r.stdout.strip().splitlines()[-1])
    # the client's own links ("View run ridge-0.1 at: http://.../#/experiments/1/runs/<id>")
    data["printed_links"] = re.findall(r"View run \S+ at: (\S+)", r.stdout + r.stderr)
    data["url"] = server.url + "/"
    yield data
    server.stop()


def test_autolog_metrics_logged_once_draw_as_bars(page, logged):
    sweep = logged["sweep"]
    page.goto(f"{logged['url']}#/experiments/{logged['exp']}?view=charts&run={sweep['0.1']}&run={sweep['1.0']}")
    card = page.locator(".chart-card[data-metric=training_score]")
    bars = card.locator(".bar-chart rect")
    expect(bars).to_have_count(2)
    widths = [float(bars.nth(i).get_attribute("width")) for i in range(2)]
    assert all(w > 1 for w in widths), widths
    expect(card.locator(".bar-chart")).to_contain_text("ridge-0.1")
    screenshot(page, "charts-autolog-bars")


def test_runs_of_a_sweep_get_distinct_colours(page, logged):
    page.goto(f"{logged['url']}#/experiments/{logged['exp']}")
    grid = page.get_by_role("grid", name="Runs")
    expect(grid.locator(".vt-row")).to_have_count(3)
    colours = grid.locator(".vt-row .swatch").evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert len(colours) == 3 and len(set(colours)) == 3, colours
    # stable across a reload
    page.reload()
    expect(grid.locator(".vt-row")).to_have_count(3)
    again = grid.locator(".vt-row .swatch").evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert sorted(again) == sorted(colours)


def test_run_overview_does_not_overflow_sideways(page, logged):
    page.goto(f"{logged['url']}#/experiments/{logged['exp']}/runs/{logged['loop']}")
    expect(page.get_by_role("table", name="Parameters")).to_contain_text("long_value")
    overflow = page.evaluate(
        "() => { const m = document.querySelector('main'); return m.scrollWidth - m.clientWidth; }"
    )
    assert overflow <= 1, f"the run page scrolls {overflow}px sideways"
    for card in page.locator(".overview .card").all():
        box_overflow = card.evaluate("el => el.scrollWidth - el.clientWidth")
        assert box_overflow <= 1


def test_y_axis_leaves_room_for_5_digit_labels(page, logged):
    page.goto(f"{logged['url']}#/experiments/{logged['exp']}/runs/{logged['loop']}?tab=charts")
    over = page.locator(".chart-card[data-metric=loss] .u-over")
    expect(over).to_be_visible()
    # the plot area starts after the y axis: its ticks and gap (15 px) and the widest label, "50000.2"-like
    # (the losses span 50000 to 50001.2), in uPlot's 12px axis font
    needed = page.evaluate(
        """() => { const c = document.createElement('canvas').getContext('2d'); c.font = '12px system-ui, -apple-system, sans-serif';
                  return c.measureText('50000.2').width; }"""
    )
    left = over.evaluate("el => parseFloat(getComputedStyle(el).left)")
    assert left >= needed + 15, (left, needed)


def test_log_table_previews_as_a_sortable_table(page, logged):
    page.goto(f"{logged['url']}#/experiments/{logged['exp']}/runs/{logged['loop']}?tab=artifacts")
    page.get_by_label("Artifact files").get_by_role("button", name=re.compile("eval_table.json")).click()
    table = page.get_by_role("table", name="Table preview")
    expect(table.get_by_role("columnheader")).to_have_count(2)
    expect(table.locator("tbody tr")).to_have_count(3)
    table.get_by_role("columnheader", name="score").click()
    expect(table.locator("tbody tr").first.locator("td").nth(1)).to_have_text("2")
    table.get_by_role("columnheader", name=re.compile("score")).click()
    expect(table.locator("tbody tr").first.locator("td").nth(1)).to_have_text("10")


def test_mlflow_urls_open_the_matching_page(page, logged):
    exp, loop, sweep = logged["exp"], logged["loop"], logged["sweep"]
    assert logged["printed_links"], "the mlflow client printed no run links"
    page.goto(logged["printed_links"][0])
    expect(page.get_by_role("heading", name=re.compile("ridge-0.1"))).to_be_visible()
    page.goto(f"{logged['url']}#/experiments/{exp}/runs/{loop}/artifacts/eval_table.json")
    expect(page.get_by_role("table", name="Table preview")).to_be_visible()
    page.goto(f"{logged['url']}#/experiments/{exp}/runs/{loop}/model-metrics")
    expect(page.locator(".chart-card[data-metric=loss] canvas")).to_be_visible()
    runs = json.dumps([sweep["0.1"], sweep["1.0"]])
    page.goto(f"{logged['url']}#/compare-runs?runs={runs}&experiments={json.dumps([exp])}")
    expect(page.get_by_role("heading", name="Comparing 2 runs")).to_be_visible()
    page.goto(f"{logged['url']}#/metric/loss?runs={json.dumps([loop])}&experiments={json.dumps([exp])}")
    expect(page.locator(".chart-card[data-metric=loss] canvas")).to_be_visible()
    page.goto(f"{logged['url']}#/experiments/{exp}/runs")
    expect(page.get_by_role("grid", name="Runs")).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)

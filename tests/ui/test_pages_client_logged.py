"""The pages a daily MLflow user opens, on data logged by the real mlflow client (sklearn autolog,
a training loop, log_table), in headless Chromium: what was wrong or broken before."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect
from ui_support import screenshot, server_seeded_by_client

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def logged(tmp_path_factory, webui_dist):
    server, output, data = server_seeded_by_client(tmp_path_factory.mktemp("client-logged"), HERE / "client_seed.py")
    # the client's own links ("View run ridge-0.1 at: http://.../#/experiments/1/runs/<id>")
    data["printed_links"] = re.findall(r"View run \S+ at: (\S+)", output)
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
        """() => { const c = document.createElement('canvas').getContext('2d');
                  c.font = '12px system-ui, -apple-system, sans-serif';
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


# ---------------------------------------------------------------------------- what MLflow's UI has


def runs_grid(page, logged, query: str = ""):
    page.goto(f"{logged['url']}#/experiments/{logged['exp']}{query}")
    grid = page.get_by_role("grid", name="Runs")
    expect(grid.locator(".vt-row").first).to_be_visible()
    return grid


def header_ids(grid) -> list[str]:
    return grid.locator("[role=columnheader][data-col]").evaluate_all("els => els.map(e => e.dataset.col)")


def test_runs_table_default_columns_dataset_and_models(page, logged):
    grid = runs_grid(page, logged)
    cols = header_ids(grid)
    assert "attributes.datasets" in cols and "attributes.models" in cols, cols
    assert "params.alpha" in cols, cols  # the sweep's varying param, whatever its place in the alphabet
    row = grid.locator(f".vt-row[data-key='{logged['sweep']['0.1']}']")
    expect(row).to_contain_text("regression-data (train)")
    expect(row.locator(f"a[href$='/logged-models/{logged['model_id']}']")).to_be_visible()


def test_runs_table_csv_export_as_shown(page, logged):
    runs_grid(page, logged, "?sort=attributes.run_name")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download CSV").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    lines = text.strip().splitlines()
    assert lines[0].startswith("Run ID,Run name,Created")
    assert [line.split(",")[1] for line in lines[1:]] == ["loop", "ridge-0.1", "ridge-1.0"]
    assert "params.alpha" in lines[0]


def test_runs_table_columns_resize_and_reorder(page, logged):
    grid = runs_grid(page, logged)
    head = grid.locator("[role=columnheader][data-col='attributes.status']")
    w0 = head.bounding_box()["width"]
    handle = head.locator(".vt-resize").bounding_box()
    page.mouse.move(handle["x"] + 3, handle["y"] + 5)
    page.mouse.down()
    page.mouse.move(handle["x"] + 83, handle["y"] + 5, steps=5)
    page.mouse.up()
    expect(head).to_have_css("width", f"{round(w0 + 80)}px")
    page.reload()
    status_head = grid.locator("[role=columnheader][data-col='attributes.status']")
    expect(status_head).to_have_css("width", f"{round(w0 + 80)}px")
    before = header_ids(grid)
    grid.locator("[role=columnheader][data-col='attributes.user_id']").drag_to(
        grid.locator("[role=columnheader][data-col='attributes.start_time']")
    )
    after = header_ids(grid)
    assert after.index("attributes.user_id") < after.index("attributes.start_time"), (before, after)
    assert "col=attributes.user_id" in page.url


def test_runs_table_time_range_and_dataset_filters(page, logged):
    grid = runs_grid(page, logged)
    page.get_by_label("Time range").select_option("1h")
    expect(grid.locator(".vt-row")).to_have_count(3)
    assert "since=1h" in page.url
    page.get_by_label("Dataset", exact=True).select_option("regression-data")
    expect(grid.locator(".vt-row")).to_have_count(2)
    assert "ds=regression-data" in page.url


def test_rename_a_run(page, logged):
    loop = logged["loop"]
    page.goto(f"{logged['url']}#/experiments/{logged['exp']}/runs/{loop}")
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("Run name").fill("loop-renamed")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("loop-renamed")
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("Run name").fill("loop")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("loop")


def test_run_page_system_metrics_apart(page, logged):
    page.goto(f"{logged['url']}#/experiments/{logged['exp']}/runs/{logged['loop']}")
    expect(page.get_by_role("table", name="Metrics", exact=True)).to_contain_text("loss")
    expect(page.get_by_role("table", name="Metrics", exact=True)).not_to_contain_text("system/")
    expect(page.get_by_role("table", name="System metrics")).to_contain_text("system/cpu_utilization_percentage")
    page.get_by_role("tab", name="System metrics").click()
    expect(page.locator(".chart-card[data-metric='system/cpu_utilization_percentage'] canvas")).to_be_visible()
    expect(page.locator(".chart-card[data-metric=loss]")).to_have_count(0)


def test_register_from_run_page_signature_and_registry_actions(page, logged):
    sweep = logged["sweep"]["0.1"]
    page.goto(f"{logged['url']}#/experiments/{logged['exp']}/runs/{sweep}")
    models = page.get_by_role("table", name="Logged models of this run")
    expect(models.get_by_role("link", name="ridge")).to_be_visible()  # by name
    models.get_by_role("button", name="Register model").click()
    page.get_by_label("Registered model name").fill("ridge-regressor")
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Registered ridge-regressor version 1")
    page.reload()
    expect(page.get_by_role("link", name="ridge-regressor version 1")).to_be_visible()
    # the version page: the signature as tables
    page.get_by_role("link", name="ridge-regressor version 1").click()
    inputs = page.get_by_role("table", name="Signature inputs")
    expect(inputs.locator("tbody tr")).to_have_count(4)
    expect(inputs).to_contain_text("x0")
    expect(page.get_by_role("table", name="Signature outputs")).to_be_visible()
    # rename the model, then delete the version and the model
    page.goto(f"{logged['url']}#/models/ridge-regressor")
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("New name").fill("ridge-renamed")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ridge-renamed")
    page.get_by_role("link", name="Version 1", exact=True).click()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete version").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ridge-renamed")
    expect(page.get_by_role("table", name="Model versions").locator("tbody tr")).to_have_count(0)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", name="Registered models")).to_be_visible()
    expect(page.get_by_role("link", name="ridge-renamed")).to_have_count(0)


def test_create_a_registered_model(page, logged):
    page.goto(f"{logged['url']}#/models")
    page.get_by_role("button", name="Create model").click()
    page.get_by_label("Model name").fill("made-in-the-ui")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("made-in-the-ui")


def test_experiments_sortable_with_tag_filter(page, logged):
    page.goto(f"{logged['url']}#/experiments")
    table = page.get_by_role("table", name="Experiments")
    names = lambda: table.locator("tbody td:nth-child(2) a").all_inner_texts()  # noqa: E731
    expect(table.get_by_role("link", name="autolog-sweep")).to_be_visible()
    table.get_by_role("columnheader", name="Name").click()
    assert names() == sorted(names(), key=str.lower)
    table.get_by_role("columnheader", name=re.compile("Name")).click()
    assert names() == sorted(names(), key=str.lower, reverse=True)
    page.get_by_label("Filter by tag").fill("no-such-tag")
    expect(table.locator("tbody tr")).to_have_count(0)
    page.get_by_label("Filter by tag").fill("")
    expect(table.get_by_role("link", name="autolog-sweep")).to_be_visible()


def test_logged_models_list_source_run_by_name(page, logged):
    page.goto(f"{logged['url']}#/experiments/{logged['exp']}?view=models")
    table = page.get_by_role("table", name="Logged models")
    expect(table.get_by_role("link", name="ridge-0.1")).to_be_visible()
    table.get_by_role("columnheader", name="Name").click()
    expect(table.get_by_role("columnheader", name=re.compile("Name"))).to_have_attribute("aria-sort", "ascending")


def test_hover_legend_lists_every_run_and_follows_across_charts(page, ui_server):
    exp, runs = ui_server.data["exp"], ui_server.data["runs"]
    page.goto(f"{ui_server.url}#/experiments/{exp}?view=charts&run={runs['alpha']}&run={runs['bravo']}")
    acc = page.locator(".chart-card[data-metric=accuracy]")
    loss = page.locator(".chart-card[data-metric=loss]")
    expect(acc.locator("canvas")).to_be_visible()
    expect(loss.locator("canvas")).to_be_visible()
    box = acc.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    tip = acc.locator(".chart-tip")
    expect(tip).to_be_visible()
    expect(tip.locator(".chart-tip-row")).to_have_count(2)
    expect(tip).to_contain_text("alpha")
    expect(tip).to_contain_text("bravo")
    expect(tip.locator(".chart-tip-x")).to_contain_text("step")
    # the other chart's cursor moved with it and shows its own values
    expect(loss.locator(".chart-tip")).to_be_visible()
    expect(loss.locator(".chart-tip .chart-tip-row")).to_have_count(2)
    page.mouse.move(box["x"] - 40, box["y"] - 40)
    expect(tip).to_be_hidden()


def _rest(base: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(
        f"{base}/api/2.0/mlflow/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def test_live_updates_pushed_without_a_reload(page, logged):
    base = logged["url"].rstrip("/")
    exp = _rest(base, "experiments/create", {"name": "live-view"})["experiment_id"]
    page.goto(f"{logged['url']}#/experiments/{exp}")
    grid = page.get_by_role("grid", name="Runs")
    expect(grid).to_contain_text("No runs match")
    page.wait_for_timeout(1000)  # the stream is open and has taken its first look
    run = _rest(base, "runs/create", {"experiment_id": exp, "run_name": "appears-live"})["run"]["info"]["run_id"]
    # pushed: well within the pages' 10 s polling fallback
    expect(grid.locator(".vt-row")).to_contain_text("appears-live", timeout=5000)
    page.goto(f"{logged['url']}#/experiments/{exp}/runs/{run}")
    metrics = page.get_by_role("table", name="Metrics", exact=True)
    expect(page.get_by_text("No metrics")).to_be_visible()
    page.wait_for_timeout(1000)
    _rest(base, "runs/log-metric", {"run_id": run, "key": "acc", "value": 0.25, "timestamp": 1, "step": 0})
    expect(metrics).to_contain_text("acc", timeout=5000)
    _rest(base, "runs/update", {"run_id": run, "status": "FINISHED"})
    expect(page.get_by_role("heading", level=1)).to_contain_text("finished", timeout=5000)


def test_group_runs_roll_up_rows_and_aggregate_bands(page, logged):
    base = logged["url"].rstrip("/")
    exp = _rest(base, "experiments/create", {"name": "grouped-sweep"})["experiment_id"]
    for i in range(6):
        opt = "adam" if i < 4 else "sgd"
        run = _rest(base, "runs/create", {"experiment_id": exp, "run_name": f"r{i}"})["run"]["info"]["run_id"]
        metrics = [
            {"key": "loss", "value": (10 - s) * (1 + i / 10), "timestamp": 1000 + s, "step": s} for s in range(10)
        ]
        _rest(base, "runs/log-batch", {"run_id": run, "params": [{"key": "opt", "value": opt}], "metrics": metrics})
        _rest(base, "runs/update", {"run_id": run, "status": "FINISHED"})
    # the table: a roll-up row per group, largest first, with the metric's mean; expandable
    page.goto(f"{logged['url']}#/experiments/{exp}?group=params.opt")
    grid = page.get_by_role("grid", name="Runs")
    rows = grid.locator(".vt-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("adam")
    expect(rows.nth(0)).to_contain_text("(4)")
    expect(rows.nth(1)).to_contain_text("sgd")
    grid.get_by_role("button", name="Expand adam").click()
    expect(rows).to_have_count(6)
    grid.get_by_label("Select adam").check()
    assert page.url.count("run=") == 4
    # the charts: one mean series per group with its band, over every run
    page.goto(f"{logged['url']}#/experiments/{exp}?view=charts&group=params.opt")
    card = page.locator(".chart-card[data-metric=loss]")
    expect(card.locator("canvas")).to_be_visible()
    expect(card.locator(".u-legend")).to_contain_text("adam (4)")
    expect(card.locator(".u-legend")).to_contain_text("sgd (2)")
    expect(card.locator(".chart-foot")).to_contain_text("over 6 runs")
    page.get_by_label("Band").select_option("std")
    expect(card.locator(".chart-foot")).to_contain_text("mean ± 1 std")
    assert "band=std" in page.url
    screenshot(page, "charts-grouped")

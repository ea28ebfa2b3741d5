"""What a person sees and does on each page of the web UI, in headless Chromium."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect
from seed import Api, seed_many
from ui_support import screenshot


def goto(page, server, hash_: str):
    page.goto(server.url + hash_)


def grid_names(page) -> list[str]:
    """Run names in the visible rows of the runs grid, top to bottom."""
    rows = page.locator("[role=grid][aria-label=Runs] .vt-row")
    expect(rows.first).to_be_visible()
    out = []
    for i in range(rows.count()):
        row = rows.nth(i)
        box = row.bounding_box()
        out.append((box["y"] if box else 0, row.locator(".run-name a").inner_text()))
    return [n for _, n in sorted(out)]


def eventually(check, timeout: float = 10.0):
    """Wait until check() is true (a UI action's request may still be in flight)."""
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def api_get(server, path: str, **query):
    url = f"{server.api}/api/2.0/mlflow/{path}?" + urllib.parse.urlencode(query, doseq=True)
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


# ---------------------------------------------------------------------------- experiments


def test_experiments_list_and_search(page, ui_server):
    goto(page, ui_server, "")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    table = page.get_by_role("table", name="Experiments")
    expect(table.get_by_role("link", name="vision-resnet")).to_be_visible()
    expect(table.get_by_role("link", name="nlp-bert")).to_be_visible()
    expect(table).to_contain_text("team: vision")  # tags
    expect(table).to_contain_text("ResNet sweeps on CIFAR")  # description
    screenshot(page, "experiments")
    page.get_by_label("Search experiments").fill("bert")
    page.get_by_role("button", name="Search").click()
    expect(table.get_by_role("link", name="nlp-bert")).to_be_visible()
    expect(table.get_by_role("link", name="vision-resnet")).to_have_count(0)
    assert "q=bert" in page.url


def test_create_rename_delete_restore_experiment(page, ui_server):
    page.on("dialog", lambda d: d.accept())
    goto(page, ui_server, "#/experiments")
    page.get_by_role("button", name="New experiment").click()
    page.get_by_label("Experiment name").fill("made-in-ui")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="made-in-ui")).to_be_visible()
    exp_id = re.search(r"#/experiments/(\d+)", page.url).group(1)
    # rename from the experiment page
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("New name").fill("renamed-in-ui")
    page.get_by_role("dialog").get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="renamed-in-ui")).to_be_visible()
    assert api_get(ui_server, "experiments/get", experiment_id=exp_id)["experiment"]["name"] == "renamed-in-ui"
    # description and tags
    page.get_by_role("button", name=re.compile("Description and tags")).click()
    page.get_by_role("button", name="Edit description").click()
    page.get_by_label("Description").fill("Made **by** the browser test")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".description strong")).to_have_text("by")
    page.get_by_label("New tag key").fill("owner")
    page.get_by_label("New tag value").fill("ui-test")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator(".tags-editor")).to_contain_text("ui-test")
    tags = {
        t["key"]: t["value"] for t in api_get(ui_server, "experiments/get", experiment_id=exp_id)["experiment"]["tags"]
    }
    assert tags["owner"] == "ui-test" and tags["mlflow.note.content"] == "Made **by** the browser test"
    # delete from the list, find it among deleted ones, restore it
    goto(page, ui_server, "#/experiments")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="renamed-in-ui"))
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("link", name="renamed-in-ui")).to_have_count(0)
    page.get_by_label("Lifecycle").select_option("deleted")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="renamed-in-ui"))
    row.get_by_role("button", name="Restore").click()
    page.get_by_label("Lifecycle").select_option("active")
    expect(page.get_by_role("link", name="renamed-in-ui")).to_be_visible()


# ---------------------------------------------------------------------------- runs table


def test_runs_table_sort_filter_and_nested(page, ui_server):
    exp = ui_server.data["exp"]
    goto(page, ui_server, f"#/experiments/{exp}")
    expect(page.get_by_role("heading", name="vision-resnet")).to_be_visible()
    expect(page.locator(".count")).to_contain_text("4 runs")  # 3 top-level + 1 child, deleted one hidden
    # default order: newest first; the child is collapsed under its parent
    assert grid_names(page) == ["charlie", "bravo", "alpha"]
    grid = page.get_by_role("grid", name="Runs")
    expect(grid).to_contain_text("alice")  # user
    expect(grid).to_contain_text("train.py")  # source
    expect(grid.get_by_text("Finished").first).to_be_visible()  # status
    page.get_by_role("button", name="Expand charlie").click()
    assert grid_names(page) == ["charlie", "charlie-child", "bravo", "alpha"]
    screenshot(page, "runs")
    # sort by the loss metric column, ascending then descending
    page.get_by_role("columnheader", name=re.compile("loss")).click()
    assert "sort=-metrics.loss" in page.url
    assert grid_names(page)[:3] == ["charlie", "charlie-child", "bravo"] or grid_names(page)[0] == "charlie"
    page.get_by_role("columnheader", name=re.compile("loss")).click()
    assert "sort=metrics.loss" in page.url
    assert grid_names(page)[0] == "alpha"
    # sort by a param
    page.get_by_role("columnheader", name=re.compile("^P ?lr$|lr")).first.click()
    # MLflow search syntax goes to the server
    box = page.get_by_label("Filter runs")
    box.fill("params.optimizer = 'sgd'")
    box.press("Enter")
    expect(page.locator(".count")).to_contain_text("1 run")
    assert grid_names(page) == ["alpha"]
    assert "filter=params.optimizer" in page.url
    # a bad filter shows the server's message under the box
    box.fill("metrics.accuracy >")
    box.press("Enter")
    expect(page.locator(".filter-error")).to_be_visible()
    assert page.locator(".filter-error").inner_text().strip() != ""


def test_runs_table_reads_runs_table_and_falls_back_to_runs_search(page, ui_server):
    """The table's rows come from our runs/table; against a server without it (plain mlflow:
    404) from runs/search, and the table shows the same either way."""
    exp = ui_server.data["exp"]
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url.split("?")[0].rsplit("/", 2)[-2] + "/" + r.url.rsplit("/", 1)[-1]))
    hash_ = f"#/experiments/{exp}?col=metrics.accuracy&col=params.optimizer&col=tags.stage&col=attributes.datasets"
    goto(page, ui_server, hash_)
    grid = page.get_by_role("grid", name="Runs")
    expect(page.locator(".count")).to_contain_text("4 runs")
    expect(grid).to_contain_text("prod")
    shown = grid.inner_text()
    assert "runs/table" in asked and "runs/search" not in asked
    page.route("**/ajax-api/2.0/aiotrack/runs/table", lambda route: route.fulfill(status=404, body="Not Found"))
    asked.clear()
    page.reload()
    expect(page.locator(".count")).to_contain_text("4 runs")
    expect(grid).to_contain_text("prod")
    assert "runs/search" in asked
    assert grid.inner_text() == shown


def test_view_state_comes_from_the_url(page, ui_server):
    exp = ui_server.data["exp"]
    goto(
        page,
        ui_server,
        f"#/experiments/{exp}?sort=-metrics.accuracy&col=metrics.accuracy&col=params.optimizer"
        f"&run={ui_server.data['runs']['bravo']}",
    )
    headers = page.get_by_role("columnheader")
    expect(headers).to_have_count(4)  # select, run name, 2 chosen columns
    expect(page.get_by_role("columnheader", name=re.compile("accuracy"))).to_have_attribute("aria-sort", "descending")
    assert grid_names(page) == ["charlie", "bravo", "alpha"]
    expect(page.get_by_label("Select bravo")).to_be_checked()
    expect(page.get_by_label("Select alpha")).not_to_be_checked()
    # the column chooser changes the URL
    page.get_by_role("button", name=re.compile(r"Columns \(")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Search columns").fill("stage")
    dialog.get_by_text("stage", exact=True).click()
    dialog.get_by_role("button", name="Done").click()
    assert "col=tags.stage" in page.url
    expect(page.get_by_role("grid", name="Runs")).to_contain_text("prod")


def test_every_run_is_loaded_and_scrolls(page, ui_server):
    n = 2500
    exp = seed_many(ui_server.api, n, name="scroll-sweep")
    goto(page, ui_server, f"#/experiments/{exp}")
    expect(page.locator(".count")).to_contain_text(f"{n:,} runs", timeout=30_000)
    rows = page.locator("[role=grid][aria-label=Runs] .vt-row")
    assert rows.count() < 120, "the table must render only the rows in view"
    assert grid_names(page)[0] == f"run-{n - 1:05d}"
    page.locator(".vt").evaluate("el => el.scrollTop = el.scrollHeight")
    page.wait_for_timeout(300)
    assert grid_names(page)[-1] == "run-00000"
    assert rows.count() < 120
    # client-side sort over every run
    page.get_by_role("columnheader", name=re.compile("score")).click()
    page.locator(".vt").evaluate("el => el.scrollTop = 0")
    page.wait_for_timeout(200)
    top = grid_names(page)[0]
    best = max(range(n), key=lambda i: ((i * 7919) % 1000, -i))
    assert top in {f"run-{i:05d}" for i in range(n) if (i * 7919) % 1000 == (best * 7919) % 1000}
    screenshot(page, "runs-many")


def test_delete_and_restore_runs(page, ui_server):
    page.on("dialog", lambda d: d.accept())
    api = Api(ui_server.api)
    exp = api.create_experiment("delete-me")
    rid = api.create_run(exp, "doomed", 1_700_000_000_000)
    api.create_run(exp, "keeper", 1_700_000_001_000)
    goto(page, ui_server, f"#/experiments/{exp}")
    page.get_by_label("Select doomed").check()
    page.get_by_role("button", name="Delete runs").click()
    expect(page.locator(".count")).to_contain_text("1 run")
    assert api_get(ui_server, "runs/get", run_id=rid)["run"]["info"]["lifecycle_stage"] == "deleted"
    page.get_by_label("Run lifecycle").select_option("deleted")
    expect(page.locator(".count")).to_contain_text("1 run")
    page.get_by_label("Select doomed").check()
    # the restore is held in flight while the user switches back to active runs: its answer
    # must not put the page back on the deleted runs it was started from
    held = []
    page.route("**/runs/restore", lambda route: held.append(route))
    page.get_by_role("button", name="Restore runs").click()
    while not held:
        page.wait_for_timeout(20)
    page.get_by_label("Run lifecycle").select_option("active")
    expect(page.locator(".count")).to_contain_text("1 run")  # keeper, the restore not yet done
    held[0].continue_()
    eventually(lambda: api_get(ui_server, "runs/get", run_id=rid)["run"]["info"]["lifecycle_stage"] == "active")
    expect(page.locator(".count")).to_contain_text("2 runs")
    expect(page.get_by_label("Run lifecycle")).to_have_value("active")
    assert "lifecycle" not in page.url


# ---------------------------------------------------------------------------- run detail


def test_run_detail_overview(page, ui_server):
    exp, runs = ui_server.data["exp"], ui_server.data["runs"]
    goto(page, ui_server, f"#/experiments/{exp}")
    page.get_by_role("link", name="charlie", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("charlie"))).to_be_visible()
    params = page.get_by_role("table", name="Parameters")
    expect(params.get_by_role("row", name=re.compile("lr"))).to_contain_text("0.001")
    metrics = page.get_by_role("table", name="Metrics")
    acc = metrics.get_by_role("row", name=re.compile("accuracy"))
    expect(acc).to_contain_text("0.918789")  # last
    expect(acc.locator("td").nth(2)).to_have_text("0")  # min over the whole history
    # markdown description rendered, its <script> shown as text, never run
    expect(page.locator(".description h1")).to_have_text("Best run")
    expect(page.locator(".description")).to_contain_text("<script>alert(1)</script>")
    assert page.locator(".description script").count() == 0
    # child run link
    expect(page.get_by_role("link", name="charlie-child")).to_be_visible()
    if ui_server.data.get("datasets"):
        expect(page.locator("section", has_text="Datasets")).to_contain_text("cifar10")
        expect(page.locator("section", has_text="Datasets")).to_contain_text("training")
    if ui_server.data.get("outputs"):
        # listed by name, linked by id
        link = page.get_by_role("table", name="Logged models of this run").locator(
            f"a[href$='/logged-models/{ui_server.data['logged_model']}']"
        )
        expect(link).to_be_visible()
    screenshot(page, "run")
    # tags: add, edit, delete
    page.get_by_label("New tag key").fill("reviewed")
    page.get_by_label("New tag value").fill("yes")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator(".tags-editor")).to_contain_text("reviewed")
    tags = {t["key"]: t["value"] for t in api_get(ui_server, "runs/get", run_id=runs["charlie"])["run"]["data"]["tags"]}
    assert tags["reviewed"] == "yes"
    page.get_by_role("button", name="Delete tag reviewed").click()
    expect(page.locator(".tags-editor")).not_to_contain_text("reviewed")
    # the child links back to its parent
    page.get_by_role("link", name="charlie-child").click()
    expect(page.get_by_role("heading", name=re.compile("charlie-child"))).to_be_visible()
    expect(page.get_by_role("link", name="charlie", exact=True)).to_be_visible()
    expect(page.locator("h1 .status")).to_contain_text("running")


def test_run_artifacts_preview(page, ui_server):
    if "artifacts_error" in ui_server.data:
        pytest.skip(f"the server does not store artifacts yet: {ui_server.data['artifacts_error']}")
    exp, runs = ui_server.data["exp"], ui_server.data["runs"]
    goto(page, ui_server, f"#/experiments/{exp}/runs/{runs['charlie']}?tab=artifacts")
    tree = page.get_by_label("Artifact files")
    tree.get_by_role("button", name=re.compile("notes.txt")).click()
    expect(page.locator(".preview pre")).to_contain_text("hello artifacts")
    assert "path=notes.txt" in page.url
    tree.get_by_role("button", name=re.compile("config.json")).click()
    expect(page.locator(".preview pre")).to_contain_text('"layers": [\n    64,')
    tree.get_by_role("button", name=re.compile("params.yaml")).click()
    expect(page.locator(".preview pre")).to_contain_text("batch: 32")
    tree.get_by_role("button", name=re.compile("^▸\\s*eval")).click()
    tree.get_by_role("button", name=re.compile("README.md")).click()
    expect(page.locator(".preview .markdown strong")).to_have_text("two")
    tree.get_by_role("button", name=re.compile("results.csv")).click()
    csv = page.get_by_role("table", name="Table preview")
    expect(csv.get_by_role("columnheader")).to_have_count(3)
    expect(csv.get_by_role("row")).to_have_count(4)
    expect(page.get_by_role("link", name="Download")).to_have_attribute(
        "href", re.compile(r"^get-artifact\?path=eval%2Fresults\.csv&run_uuid=")
    )
    screenshot(page, "artifacts")
    tree.get_by_role("button", name=re.compile("^▸\\s*plots")).click()
    tree.get_by_role("button", name=re.compile("curve.png")).click()
    img = page.locator(".image-preview img")
    expect(img).to_be_visible()
    page.wait_for_function("() => document.querySelector('.image-preview img').naturalWidth > 0")
    # HTML: sandboxed (no allow-scripts), its script never runs in our origin
    tree.get_by_role("button", name=re.compile("report.html")).click()
    frame = page.locator("iframe.html-preview")
    expect(frame).to_have_attribute("sandbox", "")
    expect(page.frame_locator("iframe.html-preview").locator("h1")).to_have_text("Report")
    page.wait_for_timeout(300)
    assert page.evaluate("document.body.dataset.pwned") is None
    assert page.title() == "aiotrack"
    # SVG: shown as an image, so its script cannot run
    tree.get_by_role("button", name=re.compile("logo.svg")).click()
    expect(page.locator(".image-preview img")).to_have_attribute("src", re.compile("logo.svg"))
    page.wait_for_timeout(300)
    assert page.evaluate("document.body.dataset.pwned") is None


# ---------------------------------------------------------------------------- charts


def test_charts_across_runs(page, ui_server):
    exp, runs = ui_server.data["exp"], ui_server.data["runs"]
    goto(page, ui_server, f"#/experiments/{exp}?view=charts&run={runs['alpha']}&run={runs['bravo']}")
    card = page.locator(".chart-card[data-metric=accuracy]")
    expect(card.locator("canvas")).to_be_visible()
    expect(page.locator(".chart-card[data-metric=loss] canvas")).to_be_visible()
    expect(card.locator(".u-legend")).to_contain_text("alpha")
    expect(card.locator(".u-legend")).to_contain_text("bravo")
    expect(page.locator(".chart-legend")).to_contain_text("2 selected runs")
    screenshot(page, "charts")
    page.get_by_label("X axis").select_option("relative")
    assert "x=relative" in page.url
    expect(card.locator("canvas")).to_be_visible()
    page.get_by_label("Log scale").check()
    assert "log=1" in page.url
    page.get_by_label("Smoothing").fill("0.8")
    assert "smooth=0.8" in page.url
    expect(card.locator("canvas")).to_be_visible()
    page.get_by_label("Search metrics").fill("loss")
    expect(page.locator(".chart-card[data-metric=accuracy]")).to_have_count(0)


def test_downsampled_endpoint_keeps_the_spike(ui_server):
    bravo = ui_server.data["runs"]["bravo"]
    url = f"{ui_server.api}/ajax-api/2.0/aiotrack/metrics/downsampled?" + urllib.parse.urlencode(
        {"run_id": bravo, "metric_key": "accuracy", "buckets": 5}
    )
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.loads(r.read())
    (s,) = body["series"]
    assert s["total"] == 200 and len(s["step"]) <= 20
    assert s["max"] == 5.0 and 5.0 in s["value"] and 120 in s["step"]


def test_run_charts_tab(page, ui_server):
    exp, runs = ui_server.data["exp"], ui_server.data["runs"]
    goto(page, ui_server, f"#/experiments/{exp}/runs/{runs['bravo']}")
    page.get_by_role("tab", name="Model metrics").click()
    expect(page.locator(".chart-card[data-metric=accuracy] canvas")).to_be_visible()
    assert "tab=charts" in page.url


# ---------------------------------------------------------------------------- compare


def test_compare_two_runs(page, ui_server):
    exp = ui_server.data["exp"]
    goto(page, ui_server, f"#/experiments/{exp}")
    page.get_by_label("Select alpha").check()
    page.get_by_label("Select bravo").check()
    page.get_by_role("button", name="Compare (2)").click()
    expect(page.get_by_role("heading", name="Comparing 2 runs")).to_be_visible()
    table = page.get_by_role("table", name="Run comparison")
    lr = table.get_by_role("row", name=re.compile("^lr"))
    expect(lr).to_contain_text("0.1")
    expect(lr).to_contain_text("0.01")
    expect(table.get_by_role("row", name=re.compile("^epochs"))).to_have_count(1)
    expect(page.get_by_role("img", name=re.compile("Scatter plot")).locator("circle")).to_have_count(2)
    expect(page.get_by_role("img", name="Parallel coordinates plot").locator("polyline")).to_have_count(2)
    screenshot(page, "compare", full_page=True)
    page.get_by_label("Show differences only").check()
    assert "diff=1" in page.url
    expect(table.get_by_role("row", name=re.compile("^epochs"))).to_have_count(0)
    expect(table.get_by_role("row", name=re.compile("^lr"))).to_have_count(1)
    page.get_by_label("Scatter X axis").select_option("params.optimizer")
    assert "x=params.optimizer" in page.url


# ---------------------------------------------------------------------------- registry


def _need_registry(server):
    if "registry_error" in server.data:
        pytest.skip(f"the server has no model registry yet: {server.data['registry_error'][:200]}")


def test_models_list_model_and_version(page, ui_server):
    _need_registry(ui_server)
    goto(page, ui_server, "#/models")
    table = page.get_by_role("table", name="Registered models")
    expect(table.get_by_role("link", name="resnet-classifier")).to_be_visible()
    expect(table).to_contain_text("@champion")
    screenshot(page, "models")
    table.get_by_role("link", name="resnet-classifier").click()
    versions = page.get_by_role("table", name="Model versions")
    expect(versions.get_by_role("link", name="Version 1")).to_be_visible()
    expect(versions.get_by_role("link", name="Version 2")).to_be_visible()
    expect(page.locator(".description")).to_contain_text("Image classifier")
    expect(page.locator(".tags-editor")).to_contain_text("vision")
    screenshot(page, "model")
    versions.get_by_role("link", name="Version 1").click()
    expect(page.get_by_role("heading", name=re.compile("Version 1"))).to_contain_text("@champion")
    expect(page.locator(".tags-editor")).to_contain_text("validated")
    screenshot(page, "model-version")
    if "logged_model" in ui_server.data:
        expect(page.get_by_role("link", name=re.compile(ui_server.data["logged_model"]))).to_be_visible()
    # aliases and stage are editable
    page.get_by_label("New alias").fill("candidate")
    page.get_by_role("button", name="Add alias").click()
    expect(page.get_by_role("heading", name=re.compile("Version 1"))).to_contain_text("@candidate")
    page.get_by_label("Stage").select_option("Staging")
    expect(page.get_by_label("Stage")).to_have_value("Staging")
    eventually(
        lambda: (
            api_get(ui_server, "model-versions/get", name="resnet-classifier", version="1")["model_version"][
                "current_stage"
            ]
            == "Staging"
        )
    )
    m = api_get(ui_server, "registered-models/get", name="resnet-classifier")["registered_model"]
    assert {"alias": "candidate", "version": "1"} in m["aliases"]
    if ui_server.data.get("logged_model_files"):
        page.get_by_role("button", name=re.compile("MLmodel file")).click()
        expect(page.locator(".preview pre")).to_contain_text("sklearn_version")
    page.get_by_role("button", name="Remove alias candidate").click()
    expect(page.get_by_role("heading", name=re.compile("Version 1"))).not_to_contain_text("@candidate")
    page.get_by_role("link", name="charlie").click()
    expect(page.get_by_role("heading", name=re.compile("charlie"))).to_be_visible()


def test_logged_models_list(page, ui_server):
    if "logged_model_error" in ui_server.data:
        pytest.skip(f"the server has no logged models yet: {ui_server.data['logged_model_error'][:200]}")
    exp = ui_server.data["exp"]
    goto(page, ui_server, f"#/experiments/{exp}?view=models")
    table = page.get_by_role("table", name="Logged models")
    expect(table.get_by_role("link", name="model")).to_be_visible()
    table.get_by_role("link", name="model").click()
    expect(page.get_by_role("heading", level=1, name=re.compile("model"))).to_be_visible()
    expect(page.get_by_role("link", name=ui_server.data["runs"]["charlie"])).to_be_visible()
    if ui_server.data.get("logged_model_files"):
        page.get_by_label("Artifact files").get_by_role("button", name=re.compile("MLmodel")).click()
        expect(page.locator(".preview pre")).to_contain_text("flavors:")


# ---------------------------------------------------------------------------- static prefix


def test_everything_under_a_static_prefix(page, ui_server_prefix):
    s = ui_server_prefix
    assert s.url.endswith("/p/")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    goto(page, s, "")
    expect(page.get_by_role("link", name="vision-resnet")).to_be_visible()
    page.get_by_role("link", name="vision-resnet").click()
    page.get_by_role("link", name="charlie", exact=True).click()
    expect(page.get_by_role("table", name="Parameters")).to_contain_text("0.001")
    page.get_by_role("tab", name="Model metrics").click()
    expect(page.locator(".chart-card[data-metric=loss] canvas")).to_be_visible()
    api_calls = [u for u in requests if "/ajax-api/" in u or "/static-files/" in u]
    assert api_calls and all(urllib.parse.urlparse(u).path.startswith("/p/") for u in api_calls), api_calls


def test_filter_box_suggests_keys(page, ui_server):
    exp = ui_server.data["exp"]
    goto(page, ui_server, f"#/experiments/{exp}")
    expect(page.locator(".count")).to_contain_text("4 runs")
    box = page.get_by_label("Filter runs")
    box.click()
    box.press_sequentially("metrics.acc")
    hints = page.get_by_role("listbox", name="Filter suggestions")
    expect(hints.get_by_role("option", name=re.compile("metrics.accuracy"))).to_be_visible()
    box.press("Tab")
    expect(box).to_have_value("metrics.accuracy")
    box.press_sequentially(" > 0.9")
    box.press("Enter")
    expect(page.locator(".count")).to_contain_text("1 run")
    assert grid_names(page) == ["charlie"]
    screenshot_box = page.locator(".filter-bar")
    assert screenshot_box.is_visible()


def test_long_series_chart_downsampled_and_zoomable(page, ui_server):
    api = Api(ui_server.api)
    exp = api.create_experiment("long-series")
    rid = api.create_run(exp, "long", 1_700_000_000_000)
    n = 30_000
    for start in range(0, n, 1000):
        api.log_batch(
            rid,
            metrics=[
                {
                    "key": "loss",
                    "value": 1000.0 if s == 21_234 else 1.0 / (1 + s / 1000),
                    "timestamp": 1_700_000_000_000 + s,
                    "step": s,
                }
                for s in range(start, start + 1000)
            ],
        )
    goto(page, ui_server, f"#/experiments/{exp}/runs/{rid}?tab=charts")
    card = page.locator(".chart-card[data-metric=loss]")
    expect(card.locator("canvas")).to_be_visible()
    foot = card.locator(".chart-foot")
    expect(foot).to_contain_text("of 30,000 points (min/max kept)")
    shown = int(foot.inner_text().split(" of ")[0].replace(",", ""))
    assert shown <= 4000
    screenshot(page, "run-charts-long")
    # the overview's max comes from the whole history, spike included
    goto(page, ui_server, f"#/experiments/{exp}/runs/{rid}")
    expect(page.get_by_role("table", name="Metrics").get_by_role("row", name=re.compile("loss"))).to_contain_text(
        "1000"
    )
    # drag across part of the chart to zoom in: the chart reloads that step range at full detail
    goto(page, ui_server, f"#/experiments/{exp}/runs/{rid}?tab=charts")
    over = card.locator(".u-over")
    expect(over).to_be_visible()
    box = over.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.70, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.72, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    expect(card.get_by_role("button", name="Reset zoom")).to_be_visible()
    expect(foot).to_have_count(0)  # a narrow range has few enough points to come back whole
    card.get_by_role("button", name="Reset zoom").click()
    expect(foot).to_contain_text("of 30,000 points")


def test_charts_refresh_while_a_run_is_active(page, ui_server):
    exp, runs = ui_server.data["exp"], ui_server.data["runs"]
    goto(page, ui_server, f"#/experiments/{exp}?view=charts&run={runs['child']}")
    expect(page.locator(".chart-controls .live")).to_be_visible()
    # the child logged accuracy once: a bar, not a chart of one point
    expect(page.locator(".chart-card[data-metric=accuracy] .bar-chart rect")).to_have_count(1)
    goto(page, ui_server, f"#/experiments/{exp}?view=charts&run={runs['alpha']}")
    expect(page.locator(".chart-card[data-metric=accuracy] canvas")).to_be_visible()
    expect(page.locator(".chart-controls .live")).to_have_count(0)


def test_runs_of_several_experiments(page, ui_server):
    goto(page, ui_server, "#/experiments")
    page.get_by_label("Select vision-resnet").check()
    page.get_by_label("Select nlp-bert").check()
    page.get_by_role("button", name="Compare 2 experiments").click()
    expect(page.get_by_role("heading", name=re.compile("nlp-bert"))).to_be_visible()
    expect(page.locator(".count")).to_contain_text("5 runs")
    grid = page.get_by_role("grid", name="Runs")
    expect(page.get_by_role("columnheader", name="Experiment")).to_be_visible()
    expect(grid).to_contain_text("bert-base")
    expect(grid).to_contain_text("vision-resnet")
    assert re.search(r"#/experiments/\d+,\d+", page.url)

"""The traces pages in headless Chromium, on traces logged by the real mlflow 3 client and a bulk
OTLP export: the experiment's Traces tab, the trace page, linked traces, MLflow's trace URLs."""

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
def traced(tmp_path_factory, webui_dist):
    server, _, data = server_seeded_by_client(tmp_path_factory.mktemp("traces-ui"), HERE / "traces_seed.py")
    data["url"] = server.url + "/"
    data["api"] = server.url
    yield data
    server.stop()


def traces_table(page, traced, exp: str | None = None, query: str = ""):
    page.goto(f"{traced['url']}#/experiments/{exp or traced['exp']}?view=traces{query}")
    grid = page.get_by_role("grid", name="Traces")
    expect(grid.locator(".vt-row").first).to_be_visible()
    return grid


def test_traces_tab_lists_previews_state_latency_tokens_assessments(page, traced):
    grid = traces_table(page, traced)
    expect(grid.locator(".vt-row")).to_have_count(3)
    row = grid.locator(f".vt-row[data-key='{traced['in_run']}']")
    expect(row).to_contain_text("how do refunds work?")  # request preview
    expect(row).to_contain_text("answer to how do refunds work?")  # response preview
    expect(row).to_contain_text("ok")
    expect(row).to_contain_text("42")  # total tokens from the LLM span
    expect(row).to_contain_text("correct: true")
    expect(grid.locator(f".vt-row[data-key='{traced['failed']}']")).to_contain_text("error")
    screenshot(page, "traces")


def test_traces_filter_and_sort_in_mlflow_syntax(page, traced):
    grid = traces_table(page, traced)
    page.get_by_label("Filter traces").fill("trace.status = 'ERROR'")
    page.get_by_role("button", name="Search").click()
    expect(grid.locator(".vt-row")).to_have_count(1)
    expect(grid.locator(".vt-row")).to_contain_text(traced["failed"])
    assert "tf=trace.status" in page.url
    page.get_by_label("Filter traces").fill("trace.status = ")  # not valid: MLflow's error is shown
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.goto(f"{traced['url']}#/experiments/{traced['exp']}?view=traces&ts=-duration")
    expect(grid.locator(".vt-row")).to_have_count(3)
    expect(grid.get_by_role("columnheader", name=re.compile("Latency"))).to_have_attribute("aria-sort", "descending")


def test_every_trace_reachable_past_the_first_pages(page, traced):
    grid = traces_table(page, traced, traced["bulk_exp"])
    expect(page.locator(".traces-list .status-line")).to_have_text(f"{traced['bulk']:,} traces")
    # newest first: the first span exported (trace id 1) is the last row, reached by scrolling
    oldest = "tr-" + (1).to_bytes(16, "big").hex()
    expect(grid.get_by_role("link", name=oldest)).to_have_count(0)  # virtualized: not in the DOM yet
    grid.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(grid.get_by_role("link", name=oldest)).to_be_visible()


def test_trace_page_span_tree_timeline_and_json(page, traced):
    page.goto(f"{traced['url']}#/experiments/{traced['exp']}/traces/{traced['in_run']}")
    tree = page.get_by_role("tree", name="Spans")
    items = tree.get_by_role("treeitem")
    expect(items).to_have_count(3)
    expect(items.nth(0)).to_contain_text("rag")
    expect(items.nth(1)).to_contain_text("retrieve")
    expect(items.nth(2)).to_contain_text("generate")
    expect(tree.locator(".gantt-bar")).to_have_count(3)
    items.nth(1).click()
    details = page.locator(".span-details")
    expect(details.get_by_role("heading", level=2)).to_contain_text("retrieve")
    expect(details.get_by_label("Span inputs")).to_contain_text("query")
    expect(details.get_by_label("Span outputs")).to_contain_text("refund policy")
    screenshot(page, "trace")
    # collapse the root: its children leave the tree
    items.nth(0).get_by_role("button", name="Collapse").click()
    expect(tree.get_by_role("treeitem")).to_have_count(1)


def test_trace_page_error_span_shows_the_exception(page, traced):
    page.goto(f"{traced['url']}#/experiments/{traced['exp']}/traces/{traced['failed']}")
    expect(page.locator(".span-details .error")).to_contain_text("ValueError")
    expect(page.locator(".span-details .error")).to_contain_text("bad input 7")


def test_trace_page_large_input_opens(page, traced):
    page.goto(f"{traced['url']}#/experiments/{traced['exp']}/traces/{traced['big']}")
    inputs = page.locator(".span-details").get_by_label("Span inputs")
    expect(inputs.get_by_role("button", name=re.compile("show all 200,000 characters"))).to_be_visible()


def test_assessments_shown_added_edited_deleted(page, traced):
    tid = traced["in_run"]
    page.goto(f"{traced['url']}#/experiments/{traced['exp']}/traces/{tid}")
    card = page.locator(".card", has=page.get_by_role("heading", name="Assessments"))
    expect(card).to_contain_text("correct")
    expect(card).to_contain_text("matches the policy")
    expect(card).to_contain_text("expected_answer")
    card.get_by_role("button", name="Add assessment").click()
    card.get_by_label("Assessment name").fill("helpful")
    card.get_by_label("Assessment value").fill("0.75")
    card.get_by_label("Rationale").fill("mostly")
    card.get_by_role("button", name="Save").click()
    row = card.locator("tr", has_text="helpful")
    expect(row).to_contain_text("0.75")

    def infos():
        with urllib.request.urlopen(f"{traced['api']}/api/3.0/mlflow/traces/{tid}", timeout=10) as r:
            return json.loads(r.read())["trace"]["trace_info"]["assessments"]

    helpful = [a for a in infos() if a["assessment_name"] == "helpful"]
    assert len(helpful) == 1 and helpful[0]["feedback"]["value"] == 0.75
    assert helpful[0]["source"]["source_type"] == "HUMAN"
    row.get_by_role("button", name="edit").click()
    card.get_by_label("Assessment value").fill("1")
    card.get_by_role("button", name="Save").click()
    expect(card.locator("tr", has_text="helpful")).to_contain_text("1")
    assert [a["feedback"]["value"] for a in infos() if a["assessment_name"] == "helpful"] == [1]
    page.once("dialog", lambda d: d.accept())
    card.locator("tr", has_text="helpful").get_by_role("button", name="delete").click()
    expect(card.locator("tr", has_text="helpful")).to_have_count(0)
    assert not [a for a in infos() if a["assessment_name"] == "helpful"]


def test_trace_tags_editable(page, traced):
    tid = traced["failed"]
    page.goto(f"{traced['url']}#/experiments/{traced['exp']}/traces/{tid}")
    tags = page.locator(".card", has=page.get_by_role("heading", name="Tags"))
    tags.get_by_placeholder(re.compile("key", re.I)).fill("triage")
    tags.get_by_placeholder(re.compile("value", re.I)).fill("needs-fix")
    tags.get_by_role("button", name=re.compile("Add")).click()
    expect(tags).to_contain_text("needs-fix")
    grid = traces_table(page, traced)
    expect(grid.locator(f".vt-row[data-key='{tid}']")).to_contain_text("triage=needs-fix")


def test_linked_traces_on_the_run_page_and_mlflow_trace_urls(page, traced):
    page.goto(f"{traced['url']}#/experiments/{traced['exp']}/runs/{traced['run']}?tab=traces")
    linked = page.get_by_role("grid", name="Traces of this run")
    expect(linked.locator(".vt-row")).to_have_count(1)
    expect(linked.locator(".vt-row")).to_contain_text(traced["in_run"])
    # MLflow 3's own trace address opens the trace page
    page.goto(f"{traced['url']}#/experiments/{traced['exp']}/traces?selectedEvaluationId={traced['in_run']}")
    expect(page.get_by_role("tree", name="Spans").get_by_role("treeitem")).to_have_count(3)


def test_delete_traces_from_the_table(page, traced):
    grid = traces_table(page, traced, traced["bulk_exp"])
    grid.get_by_label("Select trace", exact=False).first.check()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name=re.compile("Delete 1 trace")).click()
    expect(page.locator(".traces-list .status-line")).to_have_text(f"{traced['bulk'] - 1:,} traces")

"""The workflow's HTML report, built with `snakemake --report` on a finished run and opened
in a real headless browser (Debian's `chromium`): every figure must render.

Snakemake 9's report is one self-contained page, a React app whose results (captions and
files as data URIs) are embedded in it; figures appear only after clicking through its
menus. tests/report_driver.js, injected into a copy of the page, does that clicking and
records what the page showed into an element that `chromium --dump-dom` prints.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run_snakemake

DRIVER = Path(__file__).with_name("report_driver.js")
INSTALL_SCRIPT = ".ci/install-system-packages.sh"

# The categories of the workflow's report(...) outputs (workflow/rules/*.smk) and their results.
EXPECTED = {
    "Continual pre-training": {
        "results/continual/summary.csv",
        "results/continual/loss_matrix.png",
        "results/continual/forgetting_vs_learning.png",
        "results/continual/perplexity.png",
        "results/continual/train_loss.png",
        "results/continual/frontier.png",
    },
    "Arithmetic (LoRA)": {"results/arithmetic/error_by_target.png"},
    "Java code generation": {"results/java/accuracy.png"},
    "Across experiments": {"results/cross/matrix.png"},
    "Run record": {"results/rule_times.csv"},
}

BROWSER_TIMEOUT_S = 120
# Virtual time (timers run without waiting): the driver's walk needs about a second of
# it; a page that never settles is stopped by BROWSER_TIMEOUT_S.
VIRTUAL_TIME_BUDGET_MS = 600_000


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"no chromium on PATH: the report test needs a headless browser; install it with {INSTALL_SCRIPT}")


def file_states(folder: Path) -> dict[str, tuple[int, int]]:
    states = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            info = path.lstat()
            states[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns)
    return states


def embedded(page: str, name: str):
    """A JSON value the report embeds as `var <name> = ...;` on a line of its own."""
    match = re.search(rf"^\s*var {name} = ([{{\"].*);\s*$", page, re.MULTILINE)
    assert match, f"no `var {name}` in the report"
    return json.loads(match.group(1))


def plain(fragment: str) -> str:
    """The text of an HTML fragment as a browser's textContent gives it, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", "", fragment)).split())


def drive(browser: str, report: Path, tmp_path: Path) -> dict:
    page = report.read_text(encoding="utf-8")
    end = page.rindex("</body>")  # the last one: the page's scripts hold the string too
    driven = tmp_path / "driven.html"
    driven.write_text(
        page[:end] + "<script>\n" + DRIVER.read_text(encoding="utf-8") + "\n</script>\n" + page[end:],
        encoding="utf-8",
    )
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--no-default-browser-check", "--mute-audio",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1600,1200",
        f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}", "--dump-dom", driven.as_uri(),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S)
    finally:
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)
    (tmp_path / "dom.html").write_text(result.stdout, encoding="utf-8")
    found = re.findall(r'<pre id="render-check"[^>]*>(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, (
        f"chromium ({result.returncode}) printed no page with the driver's record:\n"
        f"{result.stderr[-3000:]}"
    )
    check = json.loads(html.unescape(found[-1]))  # the element, after the script
    (tmp_path / "render-check.json").write_text(json.dumps(check, indent=1), encoding="utf-8")
    assert check["done"] and not check["error"], (
        f"the driver did not get through the report: {check['error']}\n{json.dumps(check, indent=1)[:4000]}"
    )
    return check


@pytest.mark.slow
def test_the_report_renders_every_figure_in_a_browser(tiny_run, tmp_path):
    browser = chromium()
    before = file_states(tiny_run / "results")
    report = tmp_path / "report.html"
    run_snakemake(tiny_run, "--report", str(report))
    assert file_states(tiny_run / "results") == before, "creating the report changed the run's results"

    page = report.read_text(encoding="utf-8")
    results = embedded(page, "results")
    categories = embedded(page, "categories")
    filed = {category: {path for paths in subs.values() for path in paths} for category, subs in categories.items()}
    assert filed == EXPECTED
    assert set(results) == set().union(*EXPECTED.values())

    check = drive(browser, report, tmp_path)
    assert check["errors"] == [], f"JavaScript errors on the page: {check['errors']}"
    start = check["start"]
    assert start["title"] == "Snakemake Report"
    assert start["description"] and start["description"] == plain(embedded(page, "workflow_desc"))
    assert set(EXPECTED) <= set(start["menu"]), start["menu"]
    assert set(check["results"]) == set(results), "results the menus never led to"

    problems = []
    for path, result in results.items():
        seen = check["results"][path]
        category = next(name for name, paths in filed.items() if path in paths)
        if seen["category"] != category or seen["shown_path"] != path:
            problems.append(f"{path}: reached under {seen['category']!r} as {seen['shown_path']!r}")
        if not plain(result["caption"]) or seen["caption"] != plain(result["caption"]):
            problems.append(f"{path}: caption shown {seen['caption']!r}, embedded {plain(result['caption'])!r}")
        if result["mime_type"] == "image/png":
            image = seen["image"]
            assert result["data_uri"].startswith("data:image/png"), path
            if not (
                image and image["complete"] and image["natural_width"] > 0 and image["natural_height"] > 0
                and image["shown_width"] > 0 and image["shown_height"] > 0
            ):
                problems.append(f"{path}: the figure did not render: {image}")
            elif image["colours"] < 2:
                problems.append(f"{path}: the figure is blank (one colour): {image}")
    assert not problems, "\n".join(problems)

"""The documentation: the README stays a front page, the site (mkdocs.yml, docs/) builds
without a warning, its generated pages come from the code (lmtune.docs), and its home page
and configuration reference render in a real headless browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from lmtune import docs
from lmtune.core.schema import CONFIG_SCHEMA, load_schema
from lmtune.experiments import config_schema

README_MOST_LINES = 150
# JSON schema keywords the config schema uses. Anything else in a schema node is a typo or
# a YAML flow mapping cut at a comma (`description: a, b` makes a key `b`), which once
# silently shortened a description.
KEYWORDS = {
    "$schema", "$ref", "description", "type", "additionalProperties", "properties", "required", "definitions",
    "default", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern", "minLength", "items",
    "minItems", "maxItems", "uniqueItems", "oneOf", "anyOf", "allOf", "not", "propertyNames", "minProperties",
}
# A setting the reference must show, with its default.
KNOWN_SETTING = ("compute.precision", '"fp32"')


def build_site(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(REPO / "src")},
    )


def test_the_readme_is_a_front_page():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MOST_LINES, f"README.md has {len(lines)} lines; the rest belongs in docs/"


def test_every_setting_has_a_description():
    missing = docs.missing_descriptions(config_schema())
    assert not missing, f"settings without a description in {CONFIG_SCHEMA.name} or an experiment's schema.yaml: {missing}"


def test_the_schema_holds_only_schema_keywords():
    wrong = []

    def walk(node, path):
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, [*path, str(i)])
        elif isinstance(node, dict):
            for key, value in node.items():
                if path and path[-1] in ("properties", "definitions"):
                    walk(value, [*path, key])  # a setting's or a block's name
                elif key not in KEYWORDS:
                    wrong.append(f"{'/'.join(path)}: {key!r}")
                elif key not in ("default", "enum"):  # values, not schemas
                    walk(value, [*path, key])

    walk(config_schema(), [])
    assert not wrong, wrong


def test_the_reference_shows_every_setting_the_tiny_setting_sets():
    """Every setting path of .test/config.yaml (which sets every setting config.yaml has)
    appears in the reference, a user-named key (a domain, a phase, a run) as <name>."""
    import yaml

    reference = docs.config_reference()
    config = yaml.safe_load((REPO / ".test" / "config.yaml").read_text(encoding="utf-8"))
    named = {"domains", "phases", "strategies", "instruct_runs", "settings"}
    block_rows = {row.path for rows in docs.blocks(config_schema()).values() for row in rows}
    missing = []

    def walk(value, path):
        for key, child in value.items():
            step = [*path, docs.NAMED if path and path[-1] in named else key]
            dotted = ".".join(step)
            if f"`{dotted}`" not in reference and not any(".".join(step[i:]) in block_rows for i in range(1, len(step))):
                missing.append(dotted)
            if isinstance(child, dict) and not (path and path[-1] == "strategies"):
                walk(child, step)

    walk(config, [])
    assert not missing, f"settings of .test/config.yaml the configuration reference lacks: {missing}"


def test_the_strategies_page_is_what_lmtune_strategies_prints_and_each_ones_settings():
    from lmtune.continual.strategies import describe, registry

    page = docs.strategies_reference()
    assert page.startswith(describe())
    schema = load_schema(CONFIG_SCHEMA)
    undescribed = []
    for method, cls in registry().items():
        assert f"## `{method}`" in page
        for setting in cls.settings_schema:
            assert f"| `{setting}` |" in page, (method, setting)
        undescribed += [f"{method}: {row.path}" for row in docs.settings(cls.schema(), schema) if not row.description]
    assert not undescribed, f"strategy settings without a description: {undescribed}"


def test_a_benchmark_record_is_rendered_beside_its_command_and_machine(tmp_path):
    """A real (cheap) benchmark run through the recorder; the page shows what it printed."""
    record = docs.record_benchmark("sweep_expansion.py", ["--repeats", "1"], records=tmp_path)
    saved = json.loads(record.read_text(encoding="utf-8"))
    assert re.search(r"^expand_sweep, 1000 branches: median \d+ ms", saved["output"], re.MULTILINE)
    page = docs.benchmarks_reference(records=tmp_path)
    section = page.split("## `sweep_expansion.py`")[1].split("\n## ")[0]
    assert saved["output"].splitlines()[0] in section
    assert ".venv/bin/python benchmarks/sweep_expansion.py --repeats 1" in section
    assert saved["date"] in section and saved["machine"]["cpu"] in section
    # A script never recorded says so rather than showing a figure.
    assert "No recorded result yet" in page.split("## `throughput.py`")[1].split("\n## ")[0]


def test_the_site_builds_without_a_warning(tmp_path):
    result = build_site(tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    reference = (tmp_path / "site" / "reference" / "configuration" / "index.html").read_text(encoding="utf-8")
    assert "<code>compute.precision</code>" in reference


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no chromium on PATH: install it with .ci/install-system-packages.sh")


def browse(browser: str, page: Path, tmp_path: Path, *what: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"chromium-profile-{page.parent.name}"
    try:
        return subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--no-default-browser-check", "--hide-scrollbars", f"--user-data-dir={profile}", "--window-size=1280,1000",
             "--virtual-time-budget=5000", *what, page.as_uri()],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize(("page", "title", "text"), [
    ("index.html", "lmtune", "make run"),
    ("reference/configuration/index.html", "Configuration - lmtune", KNOWN_SETTING[0]),
])
def test_a_page_of_the_site_renders_in_a_browser(page, title, text, tmp_path):
    """The page as a reader's browser lays it out: its title and a known text in the DOM
    the browser built, and a screenshot (kept beside the test's files, to look at) that is
    not blank."""
    browser = chromium()
    result = build_site(tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    path = tmp_path / "site" / page
    dom = browse(browser, path, tmp_path, "--dump-dom")
    assert re.search(rf"<title>{re.escape(title)}</title>", dom.stdout), dom.stdout[:2000] + dom.stderr[-2000:]
    shown = re.sub(r"<[^>]*>", "", dom.stdout)
    assert text in shown
    if text == KNOWN_SETTING[0]:
        assert KNOWN_SETTING[1] in dom.stdout.replace("&quot;", '"')
    screenshot = tmp_path / "screenshot.png"
    browse(browser, path, tmp_path, f"--screenshot={screenshot}")
    assert screenshot.exists(), "chromium wrote no screenshot"
    from PIL import Image

    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1280, 1000)
    colours = image.resize((64, 50)).getcolors(64 * 50)
    assert colours is not None and len(colours) > 8, "the screenshot is (nearly) one colour: nothing rendered"

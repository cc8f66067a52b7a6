"""MkDocs hook (mkdocs.yml): fills each generated page from the code as the site builds
(lmtune.docs). A page asks for one with a marker line of its own, `<!-- lmtune:NAME -->`."""

import sys
from pathlib import Path

# This checkout's lmtune, whatever the environment has installed (as the Snakefile does).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lmtune import docs  # noqa: E402

GENERATED = {
    "readme": docs.home_page,
    "config-reference": docs.config_reference,
    "strategies": docs.strategies_reference,
    "benchmarks": docs.benchmarks_reference,
}


def on_page_markdown(markdown, page, config, files):
    for name, make in GENERATED.items():
        marker = f"<!-- lmtune:{name} -->"
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown

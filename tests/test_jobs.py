"""A job's set-up: its log, and torch threads from the rule's threads without importing torch."""

import subprocess
import sys

SCRIPT = """
import sys
from types import SimpleNamespace
from lmtune.pipeline.jobs import start_job
start_job(SimpleNamespace(log=[sys.argv[1]], threads=1, rule="light", scriptdir=None))
light = "torch" in sys.modules
import torch
open(sys.argv[2], "w").write(f"{light} {torch.get_num_threads()}")
"""


def test_a_light_job_imports_no_torch_and_a_later_import_gets_the_job_s_threads(tmp_path):
    subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "job.log"), str(tmp_path / "out")], check=True)
    assert (tmp_path / "out").read_text() == "False 1"  # not the default, one per core


def test_what_a_job_s_child_processes_write_lands_in_its_log(tmp_path):
    script = SCRIPT.split("light =")[0] + "import subprocess\nsubprocess.run(['echo', 'from a child'])\n"
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "job.log")], capture_output=True, text=True, check=True)
    assert "from a child" in (tmp_path / "job.log").read_text() and "from a child" not in result.stdout

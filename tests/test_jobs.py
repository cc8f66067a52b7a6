"""A job's set-up: its log, and torch threads from the rule's threads without importing torch."""

import subprocess
import sys

SCRIPT = """
import sys
from types import SimpleNamespace
from lmtune.core.jobs import start_job
start_job(SimpleNamespace(log=[sys.argv[1]], threads=1, rule="light", scriptdir=None))
light = "torch" in sys.modules
import torch
sys.__stdout__.write(f"{light} {torch.get_num_threads()}")
"""


def test_a_light_job_imports_no_torch_and_a_later_import_gets_the_job_s_threads(tmp_path):
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "job.log")], capture_output=True, text=True, check=True)
    assert result.stdout == "False 1"  # not the default, one per core

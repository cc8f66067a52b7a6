"""The conda environment lists the same packages and versions as pyproject.toml."""

import tomllib

import yaml

from conftest import REPO


def test_conda_env_pins_match_the_project_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((REPO / "envs" / "lmtune.yaml").read_text())
    pip_section = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert sorted(pip_section) == sorted(project)

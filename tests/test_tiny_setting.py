"""The tiny setting, `.test/config.yaml`, is the same run whether the tests read it alone
or a user reads it over the default config (`--configfile=.test/config.yaml`)."""

import yaml

from conftest import REPO, TINY_CONFIG, planned_jobs, run_snakemake, tiny_config, tiny_models, write_config


def setting_paths(config: dict, prefix: str = "") -> set[str]:
    paths = set()
    for key, value in config.items():
        paths.add(prefix + key)
        if isinstance(value, dict):
            paths |= setting_paths(value, f"{prefix}{key}.")
    return paths


def test_the_tiny_setting_sets_every_setting_of_the_default_config():
    # Snakemake merges a --configfile over config.yaml: a setting the tiny file left out
    # would come from the default config in a user's run and not in the tests'.
    default = yaml.safe_load((REPO / "config.yaml").read_text())
    tiny = yaml.safe_load(TINY_CONFIG.read_text())
    assert setting_paths(default) - setting_paths(tiny) == set()


def test_the_tiny_setting_sets_every_setting_of_the_instruct_example():
    # The default run has no instruct experiment; its example config is the one a user
    # reads over config.yaml, and the tiny setting covers every setting it shows.
    example = yaml.safe_load((REPO / "config/instruct-example.yaml").read_text())
    tiny = yaml.safe_load(TINY_CONFIG.read_text())
    assert setting_paths(example["instruct"]) - setting_paths(tiny["instruct"]) == set()


def test_the_tiny_setting_over_the_default_config_plans_what_the_tests_run(tmp_path):
    """As the README shows it: the repository's config.yaml, the tiny file on top, the
    tiny models under .test/models."""
    user = tmp_path / "user"
    (user / ".test").mkdir(parents=True)
    (user / "resources").symlink_to(REPO / "resources")
    (user / ".test/models").symlink_to(tiny_models()["tiny-llama"].parent)
    (user / ".test/data").symlink_to(REPO / ".test/data")
    (user / "config.yaml").write_text((REPO / "config.yaml").read_text())
    as_user = run_snakemake(user, "-n", f"--configfile={TINY_CONFIG}")

    tests = tmp_path / "tests"
    tests.mkdir()
    write_config(tests, tiny_config())
    as_tests = run_snakemake(tests, "-n")
    jobs = planned_jobs(as_user.stdout)
    assert jobs == planned_jobs(as_tests.stdout)
    assert jobs["train_phase"] == 6 and jobs["train_lora"] == 1 and jobs["train_java_instruct"] == 2
    assert jobs["train_instruct"] == 1 and jobs["export_instruct"] == 1

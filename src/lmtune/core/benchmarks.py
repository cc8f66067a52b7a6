"""Benchmark tasks run by EleutherAI's lm-evaluation-harness (`lm_eval`, its `hf` backend)
on a model folder: the tasks papers report beside perplexity (HellaSwag, ARC, PIQA,
Belebele...), or a task YAML of the user's own over local data.

A `benchmarks.tasks` entry names one task: a name lm-eval knows (its data come from the
hub), or a task YAML file (`.yaml`/`.yml`) whose `task:` key names it, e.g. one with
`dataset_path: json` and `dataset_kwargs: {data_files: {test: FILE}}` over local JSON Lines
(paths as lm-eval reads them: relative to the working folder). One job evaluates one model
on one task and writes the task's figures (`evaluate_task`); the experiments put them in
their matrices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lmtune.core.errors import LmtuneError, missing

TASK_FILE_SUFFIXES = (".yaml", ".yml")
# A task's name is part of its output's path.
TASK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
# lm-eval's packaged dataset builders: their data files are local files (anything else in
# `dataset_path` is a hub dataset).
LOCAL_BUILDERS = ("json", "csv", "parquet", "text", "arrow")


class BenchmarkError(LmtuneError):
    """A benchmark task cannot be run as set."""


def _yaml_loader():
    """A YAML loader that reads lm-eval's `!function module.name` tags as their text (the
    config check reads a task file without importing its code)."""
    import yaml

    class TaskFileLoader(yaml.SafeLoader):
        pass

    TaskFileLoader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node))
    return TaskFileLoader


def read_task_file(path: str | Path) -> dict:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"task file {path} {missing(path) if not path.exists() else 'is not a file'}")
    try:
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=_yaml_loader())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BenchmarkError(f"task file {path} is not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(content, dict):
        raise BenchmarkError(f"task file {path} is not a mapping of lm-eval task settings")
    return content


def _data_files(setting) -> list[str]:
    """The files of a `data_files` setting: a path, a list, or split -> path or list."""
    if isinstance(setting, str):
        return [setting]
    if isinstance(setting, list):
        return [file for item in setting for file in _data_files(item)]
    if isinstance(setting, dict):
        return [file for value in setting.values() for file in _data_files(value)]
    return []


@dataclass(frozen=True)
class BenchmarkTask:
    """One `benchmarks.tasks` entry: what lm-eval runs and how."""

    task: str  # the setting: a task name, or a task file
    name: str  # lm-eval's name of the task (a task file's `task:` key)
    num_fewshot: int
    limit: int | None
    metric: str | None  # lm-eval's "metric,filter" key of the figure in the matrices

    @property
    def file(self) -> Path | None:
        return Path(self.task) if self.task.endswith(TASK_FILE_SUFFIXES) else None

    @classmethod
    def from_setting(cls, setting: dict) -> BenchmarkTask:
        task = setting["task"]
        if task.endswith(TASK_FILE_SUFFIXES):
            name = read_task_file(task).get("task")
            if not isinstance(name, str):
                raise BenchmarkError(f"task file {task} has no `task:` name (lm-eval names a task by it)")
        else:
            name = task
        if not TASK_NAME.match(name):
            raise BenchmarkError(f"task name {name!r} has characters other than letters, digits, '_', '.' and '-'")
        return cls(task, name, setting["num_fewshot"], setting.get("limit"), setting.get("metric"))

    def files(self) -> list[str]:
        """Every local file the task reads (its YAML, the files it includes, the code its
        `!function` tags name, its data files): a job's identity holds their content.
        None for a task lm-eval ships."""
        if self.file is None:
            return []
        found: list[str] = []

        def visit(path: Path):
            if str(path) in found:
                return
            found.append(str(path))
            content = read_task_file(path)
            for module in {Path(value).stem for value in _function_tags(path)}:
                code = path.parent / f"{module}.py"
                if code.is_file() and str(code) not in found:
                    found.append(str(code))
            if isinstance(content.get("include"), str):
                visit(path.parent / content["include"])
            if content.get("dataset_path") in LOCAL_BUILDERS:
                found.extend(_data_files((content.get("dataset_kwargs") or {}).get("data_files")))

        visit(self.file)
        return found

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "name": self.name,
            "num_fewshot": self.num_fewshot,
            "limit": self.limit,
            "metric": self.metric,
        }


def _function_tags(path: Path) -> list[str]:
    """`module.name` of each `!function module.name` tag in a task file."""
    return re.findall(r"!function\s+([A-Za-z0-9_.]+)", path.read_text(encoding="utf-8"))


def benchmark_tasks(section: dict) -> dict[str, BenchmarkTask]:
    """lm-eval's task name -> the task, for the `benchmarks` setting (checked by
    check_benchmarks)."""
    return {task.name: task for task in map(BenchmarkTask.from_setting, section["tasks"])}


def known_task_names(cache: Path) -> frozenset[str]:
    """The tasks lm-eval ships. Its index of them takes about 13 s on 2 cores, so the names
    are kept in `cache` (a folder), one file per lm-eval version."""
    from importlib.metadata import version

    names_file = Path(cache) / f"lm-eval-{version('lm-eval')}-tasks.txt"
    if names_file.is_file():
        return frozenset(names_file.read_text(encoding="utf-8").split())
    from lm_eval.tasks import TaskManager

    from lmtune.core import atomic

    names = frozenset(TaskManager().all_tasks)
    names_file.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(names_file, "\n".join(sorted(names)) + "\n")
    return names


def check_benchmarks(section: dict, hub_unreachable, cache: Path) -> None:
    """Raise BenchmarkError naming the entry (benchmarks.tasks[i]) for a task file that is
    missing, unreadable or reads a data file that is not there; a task name lm-eval does
    not know (known_task_names, kept in `cache`); a task name used twice; a named task
    where no hub is reachable (`hub_unreachable()` says why, or None). The schema has
    checked the numbers."""
    names: dict[str, int] = {}
    named = []
    for index, setting in enumerate(section["tasks"]):
        where = f"benchmarks.tasks[{index}].task"
        try:
            task = BenchmarkTask.from_setting(setting)
            for file in task.files():
                if not Path(file).exists():
                    raise BenchmarkError(f"task file {task.task} reads {file}, which {missing(file)}")
        except BenchmarkError as exc:
            raise BenchmarkError(f"{where}: {exc}") from None
        if task.name in names:
            raise BenchmarkError(f"{where}: task {task.name!r} is also benchmarks.tasks[{names[task.name]}]")
        names[task.name] = index
        if task.file is None:
            named.append((where, task.name))
    if not named:
        return
    known = known_task_names(cache)
    for where, name in named:
        if name not in known:
            raise BenchmarkError(
                f"{where}: lm-eval has no task {name!r} (`lm-eval ls tasks` lists them; a task of your own "
                "is named by its YAML file)"
            )
    why = hub_unreachable()
    if why:
        where, name = named[0]
        raise BenchmarkError(
            f"{where}: task {name!r} reads its data from the hub, and {why}; name a task YAML file over local data instead"
        )


def lm_eval_model_args(model_folder: str | Path, precision: str, trust_remote_code: bool) -> str:
    """lm-eval's `hf` model arguments for a model folder in the workflow's precision."""
    from lmtune.core import models

    dtype = str(models.PRECISIONS[precision]).removeprefix("torch.")
    args = f"pretrained={model_folder},dtype={dtype}"
    return args + (",trust_remote_code=True" if trust_remote_code else "")


def evaluate_task(
    model_folder: str | Path, task: BenchmarkTask, device: str, precision: str, batch_size: int, loaded=None
) -> dict:
    """The model's figures on one task, as lm_eval.simple_evaluate gives them: each metric
    and its standard error, which one is the task's figure and whether higher is better,
    the examples scored, and lm-eval's version. lm-eval loads the folder itself, unless
    `loaded` gives the model and tokenizer already in memory (an adapter on its base, a
    4-bit base: lmtune.core.adapters.load_for_inference)."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from lmtune.core.models import resolve_device, trusts_code

    # A task file's folder only: lm-eval's own index of its tasks takes seconds.
    task_manager = (
        TaskManager(include_path=str(task.file.parent), include_defaults=False) if task.file else TaskManager()
    )
    if loaded is None:
        model = {"model": "hf", "model_args": lm_eval_model_args(model_folder, precision, trusts_code(model_folder))}
    else:
        model = {"model": HFLM(pretrained=loaded[0], tokenizer=loaded[1], batch_size=batch_size)}
    results = lm_eval.simple_evaluate(
        **model,
        tasks=[task.name],
        num_fewshot=task.num_fewshot,
        limit=task.limit,
        batch_size=batch_size,
        device=str(resolve_device(device)),
        task_manager=task_manager,
        log_samples=False,
    )
    return task_figures(results, task)


def task_figures(results: dict, task: BenchmarkTask) -> dict:
    """One task's figures from what lm_eval.simple_evaluate returns."""
    import lm_eval

    row = results["results"][task.name]
    metrics = {key: value for key, value in row.items() if "," in key and "_stderr," not in key}
    if not metrics:
        raise BenchmarkError(f"lm-eval gave task {task.name!r} no metric (a group without an aggregate?)")
    metric = task.metric or next(iter(metrics))
    if metric not in metrics:
        raise BenchmarkError(f"benchmarks: task {task.name!r} has no metric {metric!r} (it has {', '.join(metrics)})")
    higher_is_better = results["higher_is_better"].get(task.name, {})
    return {
        "task": task.name,
        "metric": metric,
        "score": metrics[metric],
        "stderr": _stderr(row, metric),
        "higher_is_better": bool(higher_is_better.get(metric.split(",")[0], True)),
        "metrics": {
            key: {"value": value, "stderr": _stderr(row, key)} for key, value in metrics.items()
        },
        "examples": results["n-samples"][task.name]["effective"],
        "num_fewshot": task.num_fewshot,
        "limit": task.limit,
        "lm_eval_version": lm_eval.__version__,
    }


def _stderr(row: dict, metric: str) -> float | None:
    """A metric's standard error; lm-eval writes "N/A" where it has none."""
    stderr = row.get(metric.replace(",", "_stderr,", 1))
    return stderr if isinstance(stderr, (int, float)) else None

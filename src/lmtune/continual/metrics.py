"""Assemble per-stage evaluations into the continual-learning metrics.

R[i][j] is the loss on domain j's test split after stage i, where stage 0 is the base
model and stage i (i >= 1) is the model after training on the i-th domain of the order.
Losses are lower-is-better, so the signs are flipped from accuracy-based libraries:

- forgetting_j = R[last][j] - R[j][j]            (positive: the model forgot j)
- learning_j   = R[j-1][j] - R[j][j]             (positive: training on j helped j)
- backward_transfer = mean over j < last of (R[j][j] - R[last][j])   (negative: forgetting)
- forward_transfer_j = R[0][j] - R[j-1][j]       (positive: earlier phases helped j)

Benchmark tasks (lmtune.core.benchmarks) add S[i][t], task t's score after stage i, beside
R. No phase trains on a task, so its measures follow its score across the stages, each as
a gain g (the score where higher is better, as for accuracy; its negative where lower is):

- forgetting_t = max over stages before the last of g - g[last]   (positive: the run lost
  ability it had at an earlier stage, the base model's included)
- learning_t   = max over stages after the base of g - g[0]       (positive: some phase
  raised the score above the base model's)
- transfer_t   = g[last] - g[0]       (positive: the whole run helped t; negative: it hurt)
"""

from __future__ import annotations

import math
from statistics import fmean, stdev


def stage_names(order: list[str]) -> list[str]:
    return ["base"] + [f"after_{domain}" for domain in order]


def loss_matrix(evals: dict[str, dict], order: list[str]) -> list[list[float]]:
    """`evals` maps "<stage>_<domain>" to an evaluation record with `eval_loss`."""
    return [[evals[f"{stage}_{domain}"]["eval_loss"] for domain in order] for stage in stage_names(order)]


def continual_metrics(evals: dict[str, dict], order: list[str]) -> dict:
    R = loss_matrix(evals, order)
    last = len(order)
    per_domain = {}
    for j, domain in enumerate(order, start=1):
        col = j - 1
        per_domain[domain] = {
            "forgetting": R[last][col] - R[j][col],
            "learning": R[j - 1][col] - R[j][col],
            "forward_transfer": R[0][col] - R[j - 1][col],
            "final_loss": R[last][col],
            "final_perplexity": math.exp(R[last][col]),
        }
    earlier = range(1, last)
    summary = {
        "backward_transfer": fmean(R[j][j - 1] - R[last][j - 1] for j in earlier) if last > 1 else 0.0,
        "final_average_loss": fmean(R[last]),
    }
    return {
        "order": list(order),
        "stages": stage_names(order),
        "loss_matrix": R,
        "domains": per_domain,
        "summary": summary,
    }


def score_matrix(benchmarks: dict[str, dict[str, dict]], order: list[str]) -> list[list[float]]:
    """S[stage][task]: `benchmarks` maps stage -> task -> the job's figures (`score`)."""
    return [[benchmarks[stage][task]["score"] for task in benchmark_names(benchmarks)] for stage in stage_names(order)]


def benchmark_names(benchmarks: dict[str, dict[str, dict]]) -> list[str]:
    return list(next(iter(benchmarks.values())))


def benchmark_metrics(benchmarks: dict[str, dict[str, dict]], order: list[str]) -> dict:
    """Each task's score matrix column and its forgetting, learning and transfer (gains)."""
    S = score_matrix(benchmarks, order)
    tasks = {}
    for column, task in enumerate(benchmark_names(benchmarks)):
        base = benchmarks["base"][task]
        sign = 1.0 if base["higher_is_better"] else -1.0
        gain = [sign * row[column] for row in S]
        tasks[task] = {
            "metric": base["metric"],
            "higher_is_better": base["higher_is_better"],
            "examples": base["examples"],
            "forgetting": max(gain[:-1]) - gain[-1],
            "learning": max(gain[1:]) - gain[0],
            "transfer": gain[-1] - gain[0],
            "final_score": S[-1][column],
        }
    return {"tasks": benchmark_names(benchmarks), "score_matrix": S, "measures": tasks}


def metrics_report(evals: dict[str, dict], order: list[str], benchmarks: dict[str, dict[str, dict]] | None = None) -> dict:
    """The metrics file: the seed's flat keys (base_A, after_A_B, ...) plus the analysis.

    For two domains A then B this includes forgetting on A (after_B_A - after_A_A, in
    loss) and the learning on B (after_A_B - after_B_B). With benchmark tasks
    (`benchmarks`: stage -> task -> figures), their scores and measures are under
    continual.benchmarks.
    """
    analysis = continual_metrics(evals, order)
    if benchmarks:
        analysis["benchmarks"] = benchmark_metrics(benchmarks, order)
    report = {key: dict(evals[key]) for key in sorted(evals)}
    report["continual"] = analysis
    first, last = order[0], order[-1]
    report[f"forgetting_{first}"] = analysis["domains"][first]["forgetting"]
    report[f"learning_{last}"] = analysis["domains"][last]["learning"]
    return report


def matrix_rows(evals: dict[str, dict], order: list[str]) -> list[dict]:
    """R as a table, base row included: one row per (stage, domain)."""
    return [
        {
            "stage": stage,
            "domain": domain,
            "loss": evals[f"{stage}_{domain}"]["eval_loss"],
            "perplexity": evals[f"{stage}_{domain}"]["eval_perplexity"],
            "tokens": evals[f"{stage}_{domain}"]["eval_tokens"],
        }
        for stage in stage_names(order)
        for domain in order
    ]


def run_measures(report: dict) -> dict[str, float]:
    """The figures a strategy is judged by, flat: forgetting_A, learning_B, ..."""
    analysis = report["continual"]
    measures = {}
    for domain, figures in analysis["domains"].items():
        for name in ("forgetting", "learning", "forward_transfer", "final_loss"):
            measures[f"{name}_{domain}"] = figures[name]
    for task, figures in analysis.get("benchmarks", {}).get("measures", {}).items():
        for name in ("forgetting", "learning", "transfer", "final_score"):
            measures[f"{name}_{task}"] = figures[name]
    measures.update(analysis["summary"])
    return measures


def summarise_runs(runs: dict[str, dict[int, dict]]) -> dict:
    """Mean and spread over seeds of each strategy's measures and loss matrix.

    `runs` maps strategy -> seed -> that run's metrics report. The spread is the sample
    standard deviation (None with one seed).
    """
    summary = {}
    for strategy, by_seed in runs.items():
        seeds = sorted(by_seed)
        per_seed = [run_measures(by_seed[seed]) for seed in seeds]
        matrices = [by_seed[seed]["continual"]["loss_matrix"] for seed in seeds]
        figures = {
            "seeds": seeds,
            "measures": {
                name: {
                    "mean": fmean(values),
                    "std": stdev(values) if len(values) > 1 else None,
                    "values": values,
                }
                for name in per_seed[0]
                for values in [[measures[name] for measures in per_seed]]
            },
            "loss_matrix_mean": [
                [fmean(matrix[i][j] for matrix in matrices) for j in range(len(matrices[0][0]))]
                for i in range(len(matrices[0]))
            ],
        }
        scores = [by_seed[seed]["continual"]["benchmarks"]["score_matrix"] for seed in seeds if "benchmarks" in by_seed[seed]["continual"]]
        if scores:
            figures["score_matrix_mean"] = [
                [fmean(matrix[i][t] for matrix in scores) for t in range(len(scores[0][0]))] for i in range(len(scores[0]))
            ]
        summary[strategy] = figures
    order = next(iter(next(iter(runs.values())).values()))["continual"]["order"]
    result = {"order": order, "stages": stage_names(order), "strategies": summary}
    first = next(iter(next(iter(runs.values())).values()))["continual"]
    if "benchmarks" in first:
        # `tasks` in the score matrix's column order (a JSON file's keys are sorted).
        result["benchmarks"] = {
            "tasks": first["benchmarks"]["tasks"],
            "metrics": {
                task: {key: first["benchmarks"]["measures"][task][key] for key in ("metric", "higher_is_better", "examples")}
                for task in first["benchmarks"]["tasks"]
            },
        }
    return result


def summary_rows(summary: dict) -> list[dict]:
    """One row per strategy: each measure's mean and standard deviation over seeds."""
    rows = []
    for strategy, figures in summary["strategies"].items():
        row = {"strategy": strategy, "seeds": len(figures["seeds"])}
        for name, stats in figures["measures"].items():
            row[f"{name}_mean"] = stats["mean"]
            row[f"{name}_std"] = stats["std"]
        rows.append(row)
    return rows

# Weight interpolation, no training (WiSE-FT): θ(α) = (1 − α)·start + α·end between two
# models of one run, for each α of `continual.interpolation.alphas`, each written as a
# temporary model folder, evaluated on every domain by evaluate_continual_model (its
# model_dir: interpolation/<strategy>/seed<seed>/<start>_to_<end>/alpha<α>) and then
# deleted; the frontier puts the curves beside every strategy's point.


rule interpolate_weights:
    input:
        unpack(interpolation_inputs),
    output:
        # Big, and only read by its evaluation.
        temp(directory(f"{CONTINUAL}/interpolation/{{strategy}}/seed{{seed}}/{{curve}}/alpha{{alpha}}/model")),
    log:
        f"{LOGS}/interpolate_weights/{{strategy}}/seed{{seed}}/{{curve}}/alpha{{alpha}}.log",
    benchmark:
        f"{BENCHMARKS}/interpolate_weights/{{strategy}}/seed{{seed}}/{{curve}}/alpha{{alpha}}.tsv"
    wildcard_constraints:
        curve="[A-Za-z0-9]+_to_[A-Za-z0-9]+",
        alpha="[0-9.e-]+",
    conda:
        ENV
    threads: job_threads("evaluation")
    resources:
        **job_resources("evaluation"),
    params:
        alpha=lambda wildcards: float(wildcards.alpha),
    script:
        "../../scripts/interpolate_weights.py"


rule plot_frontier:
    input:
        summary=f"{CONTINUAL}/summary.json",
        run=f"{CONTINUAL}/{interpolation_run()[0]}/seed{interpolation_run()[1]}/metrics.json",
        evaluations=[
            path for points in frontier_evaluations().values() for _, files in points for path in files.values()
        ],
    output:
        points=f"{CONTINUAL}/frontier.json",
        plot=report(
            f"{CONTINUAL}/frontier.png",
            caption="../../report/frontier.rst",
            category="Continual pre-training",
        ),
    log:
        f"{LOGS}/plot_frontier.log",
    localrule: True
    conda:
        ENV
    params:
        curves={f"θ(α), {curve.replace('_to_', ' → ')}": points for curve, points in frontier_evaluations().items()},
        run=dict(zip(["strategy", "seed"], interpolation_run())),
        order=continual_order(),
    script:
        "../../scripts/plot_frontier.py"

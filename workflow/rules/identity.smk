# What a job is made of that its rule's settings do not say, as params of every rule: the
# library code its script runs, and the content of its inputs that no rule makes or that
# are folders a rule made. A change of either reruns exactly the jobs that read it.
# Included last, once every rule is defined.

from lmtune.pipeline.identity import input_contents, made_folders, rules_defined_since_last_call
from lmtune.pipeline.library_code import planned_library_codes

# The rules defined since the last time this file ran: a study's branch adds its own.
NEW_RULES = rules_defined_since_last_call(workflow)


def track_library_code():
    """A `library` param for each script's rules, the hash of the lmtune code the script
    runs (lmtune.pipeline.library_code.library_codes). Snakemake reruns a job when its script
    changes, not when the library does; through this param a change of what that code
    does reruns exactly the jobs that run it. Called once all rules are defined."""
    scripts = {
        defined: Path(defined.basedir.get_path_or_uri(secret_free=True)) / defined.script
        for defined in NEW_RULES
        if defined.is_script and "library" not in defined.params.keys()
    }
    codes = planned_library_codes(
        frozenset(scripts.values()),
        Path(workflow.basedir) / "src" / "lmtune",
        Path(".snakemake") / "lmtune",
    )
    for defined, script in scripts.items():
        defined.set_params(library=codes[script])


def track_input_contents():
    """A `contents` param (the content digest of each input that no rule makes, and of
    each kept `directory()` output of a rule, lmtune.pipeline.identity) for every job with
    inputs, so that a corpus, a model folder, data or a made folder changed in place reruns
    the jobs that read it, whatever its modification time or timestamp marker say."""
    made_folders(
        output.regex()
        for defined in NEW_RULES
        for output in defined.output
        if output.is_directory and not output.is_temp
    )

    def contents(defined):
        # Of the wildcards alone: Snakemake leaves a param made from `input` out of the
        # params it compares, so the job's inputs are expanded here.
        return lambda wildcards: input_contents(defined.expand_input(wildcards)[0])

    for defined in NEW_RULES:
        if defined.input and "contents" not in defined.params.keys():
            defined.set_params(contents=contents(defined))


track_library_code()
track_input_contents()

# Code tracking: a change of the library code a job runs reruns exactly the jobs that run
# it. Included last, once every rule is defined.

from lmtune.pipeline.library_code import library_codes


def track_library_code():
    """A `library` param for each script's rules, the hash of the lmtune code the script
    runs (lmtune.pipeline.library_code.library_codes). Snakemake reruns a job when its script
    changes, not when the library does; through this param a change of what that code
    does reruns exactly the jobs that run it. Called once all rules are defined."""
    scripts = {
        defined: Path(defined.basedir.get_path_or_uri(secret_free=True)) / defined.script
        for defined in workflow.rules
        if defined.is_script and "library" not in defined.params.keys()
    }
    codes = library_codes(
        set(scripts.values()),
        Path(workflow.basedir) / "src" / "lmtune",
        cache_dir=Path(".snakemake") / "lmtune",
    )
    for defined, script in scripts.items():
        defined.set_params(library=codes[script])


track_library_code()

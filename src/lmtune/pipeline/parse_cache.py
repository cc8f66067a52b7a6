"""Snakemake's parse of a rules file, done once per process rather than once per module.

A study loads the whole workflow again for each branch (a Snakemake module), and
Snakemake parses every rules file again each time: 25 ms a file, about 0.25 s a branch,
the largest part of planning a study of a hundred branches (benchmarks/sweep_planning.py).
The parse turns a file's text into Python source; what it gives depends only on that
text, a shell command override, and the count of rules parsed before it, which only
names unnamed rules (a file's parse is compared at two counts to see whether it has
any). So its answer is kept under those and given again, with the line map (a dict the
parse fills in for tracebacks) filled in as the parse would. The Python that the parse
gives is compiled once too (a code object runs in any module's namespace): compiling it
again for every branch was a tenth of planning 1,000 branches.
"""

from __future__ import annotations

import functools
import os

_PATCHED = "_lmtune_parse_cache"


def cache_snakemake_parsing() -> None:
    """Keep Snakemake's parse of each rules file for this process (idempotent)."""
    from snakemake import workflow

    parse = workflow.parse
    if getattr(parse, _PATCHED, False):
        return
    # snakemake.workflow calls compile() by its global name: a module attribute of that
    # name takes the builtin's place there alone.
    workflow.compile = functools.lru_cache(maxsize=None)(compile)

    def parse_text(text: str, path: str, rulecount: int, overwrite_shellcmd):
        linemap: dict[int, int] = {}
        code, count = parse(_Source(path, text), _Workflow(), linemap=linemap,
                            overwrite_shellcmd=overwrite_shellcmd, rulecount=rulecount)
        return code, count - rulecount, linemap

    @functools.lru_cache(maxsize=None)
    def counted_rules_matter(text: str, path: str, overwrite_shellcmd) -> bool:
        """Whether the parse depends on the rule count (it names unnamed rules by it)."""
        return parse_text(text, path, 0, overwrite_shellcmd)[0] != parse_text(text, path, 10**6, overwrite_shellcmd)[0]

    kept = functools.lru_cache(maxsize=None)(parse_text)

    @functools.wraps(parse)
    def cached_parse(path, wf, linemap, overwrite_shellcmd=None, rulecount=0):
        name = path.get_path_or_uri(secret_free=True)
        text = _local_text(name) if os.path.isfile(name) else None
        if text is None:  # a remote file: through Snakemake's source cache
            with wf.sourcecache.open(path) as handle:
                text = handle.read()
        at = rulecount if counted_rules_matter(text, name, overwrite_shellcmd) else 0
        code, rules, lines = kept(text, name, at, overwrite_shellcmd)
        linemap.update(lines)
        return code, rulecount + rules

    setattr(cached_parse, _PATCHED, True)
    workflow.parse = cached_parse


def _local_text(name: str) -> str:
    """A local rules file's text, read once while its size and times are unchanged (Snakemake's
    source cache took as long to open a file as the parse cache took to answer)."""
    stat = os.stat(name)
    return _read_text(name, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@functools.lru_cache(maxsize=None)
def _read_text(name: str, size: int, modified: int, changed: int) -> str:
    with open(name, encoding="utf-8") as handle:
        return handle.read()


class _Source:
    """A rules file as the parser asks for it: its path, and its text (already read)."""

    def __init__(self, path: str, text: str):
        self.path, self.text = path, text

    def get_path_or_uri(self, secret_free: bool = False) -> str:
        return self.path


class _Workflow:
    """What the parser asks of the workflow: to open the source."""

    class sourcecache:
        @staticmethod
        def open(source):
            import io

            return io.StringIO(source.text)

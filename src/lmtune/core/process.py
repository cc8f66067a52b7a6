"""A job's process as every job runs: the garbage collector and the memory allocator
tuned for a short process that imports much and a training step that frees large blocks."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import sys

# A job's cyclic garbage collector: a first generation of 50,000 objects, not 700 (see
# tune_garbage_collector).
GC_THRESHOLDS = (50_000, 50, 50)


def tune_garbage_collector() -> None:
    """Make a job's start and end cheaper (and Snakemake's, which calls it too): most of
    a short job's time is importing torch, transformers and peft (half a million
    long-lived objects) and tearing them down again.

    With Python's default thresholds the cyclic collector scans that growing heap over
    and over while it is imported, and once more in full at exit, although none of it is
    garbage: a quarter of a short job's time (benchmarks/job_startup.py). So the objects
    alive now are frozen (never scanned again), later collections come less often, and
    what is alive at exit is frozen too: the process ends without the final scan.
    Garbage is still collected while the process works, and files and logs are closed
    by the code that opened them, not by the collector.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    atexit.register(gc.freeze)


# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4


def tune_memory_allocator() -> None:
    """Keep the memory a training step frees for the next step, rather than hand it back
    to the system and fault it in again page by page.

    glibc serves every block over 32 MiB with a fresh mmap and unmaps it when freed; a
    training step's largest tensors (the logits alone: 200 MB at batch 8 x 128 over a
    49,152-word vocabulary) are such blocks. A full fine-tuning step of SmolLM2-135M on 2
    cores took about 300,000 minor page faults, and a fifth of its time
    (benchmarks/throughput.py). Served from the heap, which is never trimmed, they reuse
    the same pages from the second step on: no faults, and the same arithmetic on the
    same values. glibc only (elsewhere nothing changes).
    """
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_MAX, 0)
    mallopt(M_TRIM_THRESHOLD, 2**31 - 1)


def tune_job_process() -> None:
    """A job's process as every job runs: the garbage collector and the memory allocator
    tuned (start_job, each data-parallel process, the benchmarks' workflow side)."""
    tune_garbage_collector()
    tune_memory_allocator()


def leave_out(packages) -> None:
    """Make `packages` look absent to this job's process, so that libraries which import
    whatever is installed pass them by: `import` raises ImportError, and
    `importlib.util.find_spec`, which transformers and peft ask, gives None. Only for a
    job's own process, before the library that would import them (scripts call it, never
    the library, which tests run in one long process); a package already imported stays.
    """
    for name in packages:
        sys.modules.setdefault(name, None)


@contextlib.contextmanager
def left_out(packages):
    """`leave_out(packages)` while the block runs, for what it imports then: afterwards
    they look installed again to the code that asks whether they are imported
    (`"torch" in sys.modules`, as the datasets library asks before it pickles)."""
    added = [name for name in packages if name not in sys.modules]
    leave_out(added)
    try:
        yield
    finally:
        for name in added:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]

"""Run code that a model wrote inside an operating-system sandbox, never beside our own.

A sandboxed process gets no network, its own process and IPC namespaces, an environment
that holds only a UTF-8 locale, an empty private working folder (a size-capped tmpfs, gone when it ends),
read-only views of the system folders and of the paths the caller names, and nothing
else of the file system: not the project, not the home folder, not /etc. It runs under
limits on address space, CPU time, file size, open files, and processes and threads (run
as root, each run runs as a user of its own, whose count is the run's alone; otherwise
the user's running tasks plus an allowance). A wall-clock deadline kills it, and
everything it started, always.

The isolation comes from bubblewrap (`bwrap`, the sandbox of Flatpak). Where bwrap is
missing or cannot start, `unshare` gives the namespaces without the file-system view: the
code then reads and writes whatever the user who runs it may, so `code_sandbox` offers it
only to a caller that opts in. Where neither works there is no sandbox (`find_sandbox`
returns None) and callers must not run the code at all. A program that runs no code of the
model's (javac with annotation processing off) may run under limits alone
(`tool_sandbox`) where no namespaces can be made.

Results travel on the process's standard output, which the code under test can write
to as well: callers give each run a nonce and accept only lines that carry it, and treat
one run's output as evidence about that run alone.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

# System folders a JVM (or any dynamically linked program) needs, bound read-only where
# they are real folders and recreated as links where they are links (merged /usr).
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
WORK = "/work"  # the private working folder inside
ENVIRONMENT = ("LC_ALL=C.UTF-8",)  # the whole environment inside
# Run as root, each run's processes run as a user of their own from here, so that its
# process limit counts only its own processes, it can read no root-only file, and what is
# left of it can be told from anything else. A lock file per user keeps two runs, of this
# process or another, from sharing one.
SLOT_UID_BASE = 1_500_000_000
SLOT_UIDS = 4096


@dataclass(frozen=True)
class Limits:
    wall_s: float  # the whole run, start included
    cpu_s: int = 60
    address_space_mb: int = 2048
    processes: int = 128  # processes and threads, beyond those its user runs already
    file_size_mb: int = 16
    open_files: int = 256
    scratch_mb: int = 64  # the private working folder
    output_bytes: int = 1 << 20  # read back from standard output; past it the run is killed


@dataclass
class Run:
    """A started sandboxed process: iterate `lines()`, then leave the `with` block, which
    kills whatever is left of it."""

    process: subprocess.Popen
    limits: Limits
    uid: int | None
    claim: int | None  # the locked file descriptor that holds `uid` for this run
    deadline: float
    scratch: Path | None = None  # the working folder outside bwrap, removed at the end
    errors: Path | None = None  # where its standard error goes, when kept
    timed_out: bool = False
    overflowed: bool = False
    _lines: queue.Queue = field(default_factory=queue.Queue)

    def __post_init__(self):
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        """Split standard output into lines in chunks: a line without end costs no more
        memory than the output limit."""
        taken, pending = 0, b""
        try:
            while chunk := self.process.stdout.read1(1 << 16):
                taken += len(chunk)
                if taken > self.limits.output_bytes:
                    self.overflowed = True
                    break
                *complete, pending = (pending + chunk).split(b"\n")
                for line in complete:
                    self._lines.put(line)
            else:
                if pending:
                    self._lines.put(pending)
        except (OSError, ValueError):  # the pipe closed under us by the kill
            pass
        self._lines.put(None)

    def extend(self, seconds: float) -> None:
        """Set the deadline `seconds` from now (a caller's own limit, once the start is done)."""
        self.deadline = time.monotonic() + seconds

    def lines(self) -> Iterator[str]:
        """Lines of standard output (decoded, newline removed) until it ends, the deadline
        passes (`timed_out`) or it writes too much (`overflowed`)."""
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, self.deadline - time.monotonic()))
            except queue.Empty:
                self.timed_out = True
                return
            if line is None:
                return
            yield line.decode("utf-8", errors="replace")

    def returncode(self, wait_s: float = 5.0) -> int | None:
        try:
            return self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return None

    def error_tail(self, size: int = 2000) -> str:
        """The end of what it wrote to standard error (runs started with `keep_errors`)."""
        if self.errors is None or not self.errors.exists():
            return ""
        with open(self.errors, "rb") as stream:
            stream.seek(max(0, self.errors.stat().st_size - size))
            return stream.read().decode("utf-8", errors="replace").strip()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc) -> None:
        kill(self.process, self.uid)
        if self.claim is not None:
            os.close(self.claim)  # frees the user for another run
        for folder in (self.scratch, self.errors and self.errors.parent):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


def kill(process: subprocess.Popen, uid: int | None) -> None:
    """Everything the run started. Its first process's children go first: the first
    process (bwrap, unshare) is then the one that reaps them, so nothing is left for the
    system's init to reap. Then the process group, then (with a run's own user) any
    process of that user still alive."""
    for pid in _processes(lambda stat: stat["ppid"] == process.pid):
        _signal(pid)
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    if process.stdout:
        process.stdout.close()
    if uid is not None:
        for _ in range(100):  # a pid namespace's members die shortly after its first process
            left = processes_of(uid)
            if not left:
                break
            for pid in left:
                _signal(pid)
            time.sleep(0.01)


def _signal(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _processes(keep) -> list[int]:
    """Live processes (not zombies) whose /proc stat (`uid`, `ppid`) `keep` accepts."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
            state, ppid = text[text.rindex(")") + 2:].split(" ", 2)[:2]
            if state != "Z" and keep({"uid": entry.stat().st_uid, "ppid": int(ppid)}):
                pids.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return pids


def _tasks_of(uid: int) -> int:
    """Processes and threads of a user, as the kernel counts them for RLIMIT_NPROC."""
    tasks = 0
    for pid in processes_of(uid):
        try:
            tasks += len(os.listdir(f"/proc/{pid}/task"))
        except FileNotFoundError:
            pass
    return tasks


def processes_of(uid: int) -> list[int]:
    """Live processes of a user."""
    return _processes(lambda stat: stat["uid"] == uid)


@dataclass(frozen=True)
class Sandbox:
    kind: str  # "bwrap", "unshare" or "limits" (no namespaces: trusted programs only)
    executable: str
    prlimit: str

    @property
    def isolates_files(self) -> bool:
        return self.kind == "bwrap"

    def command(self, argv: Sequence[str], read_only: Sequence[str | Path], writable: Sequence[str | Path], limits: Limits, uid: int | None) -> list[str]:
        limit_args = [
            self.prlimit, f"--as={limits.address_space_mb << 20}", f"--cpu={limits.cpu_s}",
            f"--fsize={limits.file_size_mb << 20}", f"--nofile={limits.open_files}", "--core=0",
        ]
        # The process limit counts every task of a user: a run's own user has none but
        # the run's; any other user keeps what it runs already.
        tasks = 0 if uid is not None else _tasks_of(os.getuid())
        limit_args.append(f"--nproc={tasks + limits.processes}")
        if self.kind == "bwrap":
            sandbox = [
                self.executable, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
                "--new-session", "--as-pid-1", "--clearenv", "--proc", "/proc", "--dev", "/dev",
                "--size", str(limits.scratch_mb << 20), "--tmpfs", "/tmp",
                "--size", str(limits.scratch_mb << 20), "--tmpfs", WORK,
            ]
            for path in SYSTEM_PATHS:
                if os.path.islink(path):
                    sandbox += ["--symlink", os.readlink(path), path]
                elif os.path.isdir(path):
                    sandbox += ["--ro-bind", path, path]
            for path in read_only:
                sandbox += ["--ro-bind", str(path), str(path)]
            for path in writable:
                sandbox += ["--bind", str(path), str(path)]
            sandbox += ["--chdir", WORK, "--"]
        elif self.kind == "unshare":
            sandbox = [self.executable, "--user", "--map-root-user", "--net", "--pid", "--ipc", "--uts",
                       "--fork", "--kill-child", "--mount-proc", "--"]
        else:
            sandbox = []
        # bwrap sets PWD after clearing the environment: `env -i` empties it for good, but
        # for the locale, without which a JVM cannot name a file outside ASCII.
        return [*limit_args, "--", *sandbox, "/usr/bin/env", "-i", *ENVIRONMENT, *argv]

    def start(self, argv: Sequence[str], *, stdin: bytes = b"", read_only: Sequence[str | Path] = (),
              writable: Sequence[str | Path] = (), limits: Limits, keep_errors: bool = False) -> Run:
        """Start `argv` in the sandbox with `stdin` as its input; its working folder is an
        empty one of its own. Run as root, the `writable` folders are given to the run's
        user and the `read_only` ones must be readable by anyone. `keep_errors` keeps the
        end of its standard error for a message (trusted code only: what a model's code
        writes there is never shown)."""
        uid, claim = claim_uid() if os.geteuid() == 0 else (None, None)
        scratch = None if self.kind == "bwrap" else Path(tempfile.mkdtemp(prefix="lmtune-sandbox-"))
        for path in [*writable, *([scratch] if scratch else [])]:
            if uid is not None:
                os.chown(path, uid, uid)
        errors = Path(tempfile.mkdtemp(prefix="lmtune-sandbox-errors-")) / "stderr" if keep_errors else None
        process = subprocess.Popen(
            self.command(argv, read_only, writable, limits, uid),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(errors, "wb") if errors else subprocess.DEVNULL,
            env={}, cwd=scratch or "/", start_new_session=True,
            **({"user": uid, "group": uid, "extra_groups": []} if uid is not None else {}),
        )
        threading.Thread(target=_feed, args=(process.stdin, stdin), daemon=True).start()
        return Run(process, limits, uid, claim, time.monotonic() + limits.wall_s, scratch, errors)


def claim_uid() -> tuple[int, int]:
    """A user id no other run holds, and the locked file that holds it until closed."""
    folder = Path(tempfile.gettempdir()) / "lmtune-sandbox-users"
    folder.mkdir(mode=0o700, exist_ok=True)
    for uid in range(SLOT_UID_BASE, SLOT_UID_BASE + SLOT_UIDS):
        claim = os.open(folder / str(uid), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(claim)
            continue
        for pid in processes_of(uid):  # left by a run that was killed before it could clean up
            _signal(pid)
        return uid, claim
    raise RuntimeError(f"all {SLOT_UIDS} sandbox users are taken (lock files in {folder})")


def _feed(pipe, data: bytes) -> None:
    """Write the input from a thread of its own: a process that never reads it cannot
    hold the caller past its deadline."""
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError, ValueError):  # it ended, or was killed, before reading
        pass


def _works(sandbox: Sandbox) -> bool:
    try:
        with sandbox.start(["/bin/sh", "-c", "echo ok"], limits=Limits(wall_s=20)) as run:
            return list(run.lines()) == ["ok"]
    except OSError:
        return False


@lru_cache(maxsize=1)
def find_sandbox() -> Sandbox | None:
    """bwrap where it runs here, else unshare (namespaces only), else None."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        log.warning("no sandbox: prlimit (util-linux) is missing")
        return None
    for kind in ("bwrap", "unshare"):
        executable = shutil.which(kind)
        if executable and _works(Sandbox(kind, executable, prlimit)):
            return Sandbox(kind, executable, prlimit)
    log.warning("no sandbox: neither bwrap nor unshare can start a process in namespaces of its own here")
    return None


def code_sandbox(allow_without_filesystem_isolation: bool) -> Sandbox | None:
    """The sandbox that model-written code may run in: bwrap; unshare only when the caller
    allows code that sees the file system; else None (the code must not run)."""
    box = find_sandbox()
    if box is not None and (box.isolates_files or allow_without_filesystem_isolation):
        return box
    return None


def tool_sandbox() -> Sandbox | None:
    """The sandbox for a trusted program that reads model-written input but runs none of
    it: the best one there is, else limits alone; None only without prlimit."""
    prlimit = shutil.which("prlimit")
    return find_sandbox() or (Sandbox("limits", "", prlimit) if prlimit else None)

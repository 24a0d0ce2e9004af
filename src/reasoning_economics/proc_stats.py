"""What Linux's /proc says about a process: its CPU time, its resident memory, its children.

Linux only. Grading reads a worker's CPU time to tell a stalled worker from a slow answer;
the benchmarks and tests read all three about a server and its grading workers.
"""

from __future__ import annotations

import os
from pathlib import Path


def rss_bytes(pid: int) -> int:
    """Resident set size of one process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc/<pid>/stat (Linux)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": field 3 onwards
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def is_stopped(pid: int) -> bool:
    """Whether the process is stopped by a signal (SIGSTOP, SIGTSTP) or a tracer, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] in "Tt"


def child_pids(pid: int) -> list[int]:
    """Direct children of every thread of ``pid`` (from /proc), e.g. a server's grading workers,
    which its spawner thread starts and so are not listed under the main thread."""
    pids: list[int] = []
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        return pids
    for task in tasks.iterdir():
        try:
            pids += [int(part) for part in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids

"""CPU time per process group, read from /proc, so each figure can say where the cores went.

A group is a process and all its descendants: the gunicorn master and its workers, the
postmaster and its backends, localstripe. Descendants that exited are counted through their
parent's `cutime`/`cstime` once reaped. The machine-wide busy time (from /proc/stat) shows how
much of the two cores anything else took during a run (other jobs on a shared machine).
"""

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may contain spaces
    return raw[raw.rindex(")") + 2 :].split()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def group_seconds(root: int) -> float:
    """CPU seconds used so far by `root` and every descendant (living or reaped)."""
    tree = _children()
    total = 0
    pending = [root]
    while pending:
        pid = pending.pop()
        fields = _stat(pid)
        if fields is None:
            continue
        # utime, stime, cutime, cstime are fields 14-17 of /proc/<pid>/stat
        total += sum(int(value) for value in fields[11:15])
        pending.extend(tree.get(pid, []))
    return total / _TICKS


def own_seconds() -> float:
    """CPU seconds of this process only (the driver), without its children."""
    times = os.times()
    return times.user + times.system


def machine_busy_seconds() -> float:
    """CPU seconds every core spent not idle, machine-wide, since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / _TICKS


@dataclass
class CpuSample:
    groups: dict[str, float]
    machine: float


class CpuMeter:
    """Snapshots of named process groups; `delta` is what each used between two snapshots."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots

    def sample(self) -> CpuSample:
        groups = {name: group_seconds(pid) for name, pid in self.roots.items()}
        groups["driver"] = own_seconds()
        return CpuSample(groups=groups, machine=machine_busy_seconds())

    @staticmethod
    def delta(before: CpuSample, after: CpuSample) -> CpuSample:
        return CpuSample(
            groups={name: after.groups[name] - before.groups[name] for name in after.groups},
            machine=after.machine - before.machine,
        )

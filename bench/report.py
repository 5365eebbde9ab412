"""Figures per run, their ratios to the references, and the printed tables."""

import math
from dataclasses import dataclass, field

from bench.driver import RunResult


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation): a latency some checkout really had."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Row:
    name: str
    title: str
    result: RunResult
    expected_errors: frozenset[str] = frozenset()
    statements: int | None = None
    transactions: int | None = None
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per checkout, by process group
    machine_busy: float = math.nan  # share of all cores busy during the window, anything

    @property
    def throughput(self) -> float:
        return self.result.throughput

    @property
    def median_ms(self) -> float:
        return 1000 * percentile(self.result.latencies, 0.5)

    @property
    def p99_ms(self) -> float:
        return 1000 * percentile(self.result.latencies, 0.99)

    @property
    def errors(self) -> int:
        """Refusals that should not happen; the scenario's expected ones are not counted."""
        return sum(n for code, n in self.result.errors.items() if code not in self.expected_errors)

    @property
    def expected(self) -> int:
        return sum(n for code, n in self.result.errors.items() if code in self.expected_errors)


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or reference is None or not reference or math.isnan(value):
        return "-"
    return f"{value / reference:.2f}"


def _table(header: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]

    def fmt(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(line) for line in lines)])


def _int(value: int | None) -> str:
    return "-" if value is None else str(value)


def figures_table(rows: list[Row]) -> str:
    header = [
        "run",
        "checkouts/s",
        "median ms",
        "p99 ms",
        "p99/median",
        "errors",
        "expected",
        "SQL stmts",
        "transactions",
        "checkouts",
    ]
    lines = [
        [
            row.name,
            f"{row.throughput:.1f}",
            f"{row.median_ms:.1f}",
            f"{row.p99_ms:.1f}",
            f"{row.p99_ms / row.median_ms:.1f}" if row.median_ms else "-",
            str(row.errors),
            str(row.expected),
            _int(row.statements),
            _int(row.transactions),
            str(row.result.completed),
        ]
        for row in rows
    ]
    return _table(header, lines)


def ratios_table(rows: list[Row], r1: Row, r2: Row) -> str:
    header = [
        "run",
        "thr/R2",
        "thr/R1",
        "median/R2",
        "median/R1",
        "p99/R2",
        "p99/R1",
        "SQL/R2",
        "SQL/R1",
    ]
    lines = [
        [
            row.name,
            _ratio(row.throughput, r2.throughput),
            _ratio(row.throughput, r1.throughput),
            _ratio(row.median_ms, r2.median_ms),
            _ratio(row.median_ms, r1.median_ms),
            _ratio(row.p99_ms, r2.p99_ms),
            _ratio(row.p99_ms, r1.p99_ms),
            _ratio(row.statements, r2.statements),
            _ratio(row.statements, r1.statements),
        ]
        for row in rows
    ]
    return _table(header, lines)


CPU_GROUPS = ["app", "postgres", "localstripe", "driver"]


def cpu_table(rows: list[Row], cores: int, r2: Row | None) -> str:
    """CPU per checkout by group, the capacity those costs allow on all cores (robust to other
    load on the machine, unlike throughput), and how busy the machine was, ours and others'."""
    header = [
        "run",
        *(f"{g} ms" for g in CPU_GROUPS),
        "total ms",
        "capacity/s",
        "cap/R2",
        "busy",
        "others",
    ]
    r2_total = sum(r2.cpu_ms.values()) if r2 is not None else 0.0
    lines = []
    for row in rows:
        cells = [f"{row.cpu_ms[g]:.2f}" if g in row.cpu_ms else "-" for g in CPU_GROUPS]
        total = sum(row.cpu_ms.values())
        capacity = 1000 * cores / total if total else math.nan
        busy = "-" if math.isnan(row.machine_busy) else f"{100 * row.machine_busy:.0f}%"
        ours = total * row.throughput / 1000 / cores
        others = "-" if math.isnan(row.machine_busy) else f"{100 * (row.machine_busy - ours):.0f}%"
        lines.append(
            [
                row.name,
                *cells,
                f"{total:.2f}",
                "-" if math.isnan(capacity) else f"{capacity:.0f}",
                _ratio(r2_total, total) if total else "-",
                busy,
                others,
            ]
        )
    return _table(header, lines)


def titles(rows: list[Row]) -> str:
    return "\n".join(f"{row.name:<4} {row.title}" for row in rows)


def target_verdict(s1: Row, r2: Row) -> str:
    share = s1.throughput / r2.throughput if r2.throughput else math.nan
    tail = s1.p99_ms / s1.median_ms if s1.median_ms else math.nan
    return (
        f"Target for S1: throughput >= 60% of R2 -> {100 * share:.0f}% "
        f"({'met' if share >= 0.6 else 'NOT met'}); p99 < 4x median -> {tail:.1f}x "
        f"({'met' if tail < 4 else 'NOT met'})"
    )


def error_details(rows: list[Row]) -> str:
    lines = [
        f"{row.name}: " + ", ".join(f"{code} x{n}" for code, n in row.result.errors.most_common())
        for row in rows
        if row.result.errors
    ]
    return "\n".join(lines) if lines else "no refusals in any run"

"""The verification at the end of an import: counts per entity on both sides, metric sums per run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aiotrack.services.importing.source import MetricSums

# Relative tolerance for a run's metric sum: both sides add the same doubles, possibly in
# another order.
SUM_TOLERANCE = 1e-9


@dataclass
class Verification:
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # entity -> (source, target)
    runs_compared: int = 0
    metric_mismatches: list[tuple[str, tuple[int, int, int, float] | None, tuple[int, int, int, float] | None]] = field(
        default_factory=list
    )
    traces_not_imported: int = 0

    @property
    def count_mismatches(self) -> dict[str, tuple[int, int]]:
        return {k: v for k, v in self.counts.items() if v[0] != v[1]}

    @property
    def ok(self) -> bool:
        return not self.count_mismatches and not self.metric_mismatches

    def lines(self) -> list[str]:
        out = [f"{'entity':<26}{'source':>14}{'aiotrack':>14}"]
        for entity, (src, dst) in self.counts.items():
            mark = "" if src == dst else "   MISMATCH"
            out.append(f"{entity:<26}{src:>14,}{dst:>14,}{mark}")
        if self.traces_not_imported:
            out.append(
                f"{'traces (not imported)':<26}{self.traces_not_imported:>14,}{0:>14,}   skipped (--skip-traces)"
            )
        out.append(
            f"metric sums: {self.runs_compared:,} runs compared, {len(self.metric_mismatches):,} differ"
            + (f" (first: {self.metric_mismatches[0][0]})" if self.metric_mismatches else "")
        )
        out.append("verification: OK" if self.ok else "verification: FAILED")
        return out


def compare_sums(source: MetricSums, target: MetricSums, verification: Verification) -> None:
    runs = set(source) | set(target)
    verification.runs_compared = len(runs)
    for run in sorted(runs):
        a, b = source.get(run), target.get(run)
        if (
            a is None
            or b is None
            or a[:3] != b[:3]
            or not math.isclose(a[3], b[3], rel_tol=SUM_TOLERANCE, abs_tol=1e-9)
        ):
            verification.metric_mismatches.append((run, a, b))

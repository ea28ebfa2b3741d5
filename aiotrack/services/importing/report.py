"""The verification at the end of an import: counts per entity on both sides, metric sums per run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aiotrack.services.importing.source import MetricSums, TraceCounts

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
    # experiment id -> ((traces, spans) in the source, (traces, spans) in aiotrack)
    traces: dict[int, tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=dict)
    traces_in_source: int = 0
    traces_not_imported: int = 0  # --skip-traces

    @property
    def count_mismatches(self) -> dict[str, tuple[int, int]]:
        return {k: v for k, v in self.counts.items() if v[0] != v[1]}

    @property
    def trace_mismatches(self) -> dict[int, tuple[tuple[int, int], tuple[int, int]]]:
        return {k: v for k, v in self.traces.items() if v[0] != v[1]}

    @property
    def ok(self) -> bool:
        return not self.count_mismatches and not self.metric_mismatches and not self.trace_mismatches

    def lines(self) -> list[str]:
        out = [f"{'entity':<26}{'source':>14}{'aiotrack':>14}"]
        for entity, (src, dst) in self.counts.items():
            mark = "" if src == dst else "   MISMATCH"
            out.append(f"{entity:<26}{src:>14,}{dst:>14,}{mark}")
        if self.traces_not_imported:
            out.append(
                f"{'traces (not imported)':<26}{self.traces_not_imported:>14,}{0:>14,}   skipped (--skip-traces)"
            )
        if self.traces:
            out.append(f"{'traces, spans per experiment':<26}{'source':>14}{'aiotrack':>14}")
            for eid, (src_ts, dst_ts) in sorted(self.traces.items()):
                mark = "" if src_ts == dst_ts else "   MISMATCH"
                out.append(
                    f"  {eid:<24}{f'{src_ts[0]:,}, {src_ts[1]:,}':>14}{f'{dst_ts[0]:,}, {dst_ts[1]:,}':>14}{mark}"
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


def compare_traces(source: TraceCounts, target: TraceCounts, verification: Verification) -> None:
    """Each experiment's (traces, spans) on both sides; experiments without traces on either side
    are left out of the report."""
    for eid in sorted(set(source) | set(target)):
        a, b = source.get(eid, {}), target.get(eid, {})
        pair_a = (a.get("trace_info", 0), a.get("spans", 0))
        pair_b = (b.get("trace_info", 0), b.get("spans", 0))
        if pair_a != (0, 0) or pair_b != (0, 0):
            verification.traces[eid] = (pair_a, pair_b)

"""A crafted world whose probes have two or more runs: one probe regressing beyond `check`'s default thresholds and
one kept out by each threshold (tests/test_check.py, and `check` on Spark in tests/test_spark_readers.py)."""

from __future__ import annotations

from simulator.crafted_api import runs_world

REGRESSED = 1  # 80% -> 40% on 100 cases each: beyond every default threshold
SMALL_DROP = 2  # 80% -> 70% on 500 cases: intervals apart, but a drop of exactly 10 points is not beyond 10
FEW_CASES = 3  # 90% -> 10% on 20 cases: intervals apart, fewer cases than --min-cases 30
OVERLAPPING = 4  # 60% -> 45% on 40 cases: the 95% Wilson intervals still overlap
IMPROVED = 5  # three runs; the latest passed more often than the one before it
RUNS = {
    REGRESSED: [(80, 20), (40, 60)],
    SMALL_DROP: [(400, 100), (350, 150)],
    FEW_CASES: [(18, 2), (2, 18)],
    OVERLAPPING: [(24, 16), (18, 22)],
    IMPROVED: [(90, 10), (40, 60), (45, 55)],
}
WORLD = runs_world(RUNS)


def expected_line(probe_id: int, runs: dict[int, list[tuple[int, int]]] = RUNS) -> str:
    """The line `check` prints for a probe, from the world's own counts."""
    (passed_before, failed_before), (passed_after, failed_after) = runs[probe_id][-2:]
    before = 100 * passed_before / (passed_before + failed_before)
    after = 100 * passed_after / (passed_after + failed_after)
    return (f"gpt-test | Security | Probe {probe_id}: {before:.1f}% -> {after:.1f}% ({after - before:+.1f} points); "
            f"passed + failed {passed_before} + {failed_before} -> {passed_after} + {failed_after}")

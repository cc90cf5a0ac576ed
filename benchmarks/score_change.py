"""Time per ``Partner.scoreChange`` call, without the HTTP layer: what the resolver's worker
thread does (read the partner's slice of the snapshots M-13..M from the data folder, score M-1
and M on it and attribute), for a few partners of a data folder. The certifications file is read
once, as the API keeps it.

    uv run --frozen python benchmarks/score_change.py --data DIR --month 2024-12 [--partners 10]

Prints the seconds per call (read, attribution) for each partner, and the median. The SQL
statements per call (4 with a month, 5 without) are counted by
tests/graphql_api/test_score_change.py::test_statements_per_call_are_a_handful.
"""

from __future__ import annotations

import argparse
import statistics
import time

import polars as pl

from scoring import attribution, calendar, ingest
from scoring.rulebook import load_rulebooks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--month", required=True)
    ap.add_argument("--partners", type=int, default=10)
    args = ap.parse_args()
    month = calendar.parse_month(args.month)
    rulebooks = load_rulebooks()
    ids = ingest.read_partners(args.data).get_column("partner_id").sort().to_list()
    step = max(len(ids) // args.partners, 1)
    chosen = ids[::step][: args.partners]
    print(f"{len(ids)} partners in {args.data}; scoreChange({args.month}) for {len(chosen)} of them")
    t = time.perf_counter()
    certs = ingest.read_certifications(args.data)  # the API keeps the file read (services.CertificationsFile)
    print(f"certifications read once: {time.perf_counter() - t:.3f} s")
    totals = []
    for pid in chosen:
        t0 = time.perf_counter()
        mine = certs.filter(pl.col("partner_id") == pid)
        inputs = attribution.load_partner_inputs(args.data, pid, month, certifications=mine)
        t1 = time.perf_counter()
        change = attribution.score_change(
            rulebooks=rulebooks,
            partner_id=pid,
            month=month,
            snapshots=inputs.snapshots,
            certifications=inputs.certifications,
        )
        t2 = time.perf_counter()
        n = sum(len(o.causes) for _, _, o in attribution.all_causes(change))
        rows = inputs.snapshots.usage.height + inputs.snapshots.associations.height
        timing = f"read {t1 - t0:6.3f} s  attribute {t2 - t1:6.3f} s  total {t2 - t0:6.3f} s"
        print(f"{pid}: {timing}  ({rows} input rows, {n} causes)")
        totals.append(t2 - t0)
    median, worst = statistics.median(totals), max(totals)
    print(f"median {median:.3f} s per call, max {worst:.3f} s (polars threads: {pl.thread_pool_size()})")


if __name__ == "__main__":
    main()

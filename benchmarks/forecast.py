"""One partner's 6-month forecast and one simulation at 20,000 partners: median latency cold and
warm, the partner-slice read against the whole-folder read it replaced, memory, and the SQL
statements of one ``Partner.forecast`` call through the API.

    uv run --frozen python benchmarks/forecast.py [--data /tmp/bench20k] [--partners 20000]
        [--work-dir /tmp/pcs-bench-forecast] [--repeat 9] [--no-baseline] [--no-api]

Data: the folder ``--data`` (generated with ``pcs generate`` when missing: ``--partners``
partners, 24 months from 2023-01); ``from`` is its last month. Pure layer (in this process):

- baseline: the former read of ``simulate.load_partner_inputs`` (13 snapshot files whole, then
  filtered to the partner), once;
- forecast cold: a fresh ``SnapshotCache``, one partner's 6 months (reads from-11..from);
- forecast warm: the median over ``--repeat`` other partners with the cache filled;
- simulation cold / warm: the same for ``simulate.simulate`` of one partner's ``from`` with one
  change (a fresh cache for cold).

API (``--no-api`` skips it): ``from`` scored for every partner and written to a SQLite file under
``--work-dir`` (reused), served in-process (Starlette's test client: no network), the admin
token; per call the statements counted on the engine (``before_cursor_execute``) and the median
latency of ``partner { forecast { <every scorecard field> } }`` and of
``partner { status { projectedLapseMonth } }``, cold (first call of the process) and warm.
Figures go to standard output; progress to standard error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

SCORECARD = """partnerId month attained bestTrack score rulebookId projected
  paths { track total qualifies metrics { metric points maxPoints value option options { option value points } } }"""
FORECAST_QUERY = f"query($id: ID!) {{ partner(id: $id) {{ forecast(months: 6) {{ {SCORECARD} }} }} }}"
LAPSE_QUERY = "query($id: ID!) { partner(id: $id) { status { month qualified projectedLapseMonth } } }"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _ms(s: float) -> str:
    return f"{s * 1000:,.0f} ms"


def ensure_data(data: Path, partners: int) -> None:
    if (data / "partners.csv").exists():
        return
    from pcs.generate import generate

    _log(f"generating {partners} partners into {data}")
    generate(data, partners=partners, months=24, start="2023-01")


def pure(data: Path, start: dt.date, partners: list[str], repeat: int, baseline: bool) -> None:
    from scoring import engine, forecast, ingest
    from scoring import simulate as sim
    from scoring.ingest.slices import SnapshotCache
    from scoring.rulebook import load_rulebooks

    books = load_rulebooks()

    def one_forecast(pid: str, cache: SnapshotCache) -> None:
        inputs = sim.load_partner_inputs(data, pid, start, months=forecast.snapshots_needed(start), cache=cache)
        res = forecast.forecast(
            rulebooks=books,
            snapshots=inputs.snapshots,
            certifications=inputs.certifications,
            partner_ids=[pid],
            from_month=start,
            months=6,
        )
        assert res.designations.height == 6

    def one_simulation(pid: str, cache: SnapshotCache) -> None:
        inputs = sim.load_partner_inputs(data, pid, start, cache=cache)
        sim.simulate(
            partner_id=pid,
            month=start,
            snapshots=inputs.snapshots,
            certifications=inputs.certifications,
            rulebooks=books,
            changes=[sim.AddCertifiedPersons("ADVANCED", 1)],
        )

    print(f"data: {data} ({len(partners)} partners), from {start:%Y-%m}; load average {os.getloadavg()[0]:.1f}")
    if baseline:
        t, _ = _timed(
            lambda: sim.restrict(
                partners[0],
                start,
                ingest.read_snapshots(data, engine.months_needed(start)),
                ingest.read_certifications(data),
            )
        )
        print(f"baseline: whole-folder read of one partner's 13 months (the former load_partner_inputs): {_ms(t)}")

    cache = SnapshotCache()
    t, _ = _timed(lambda: one_forecast(partners[0], cache))
    print(f"forecast 6 months, cold (reads from-11..from into the cache): {_ms(t)}")
    sizes = sum(m.associations.estimated_size() + m.usage.estimated_size() for m in cache._months.values())
    print(f"  cache: {len(cache._months)} months, {sizes / 2**20:,.0f} MiB of frames; process RSS {_rss_mb():,.0f} MiB")
    step = max(1, len(partners) // (repeat + 1))
    others = partners[step::step][:repeat]
    warm = [_timed(lambda p=p: one_forecast(p, cache))[0] for p in others]
    print(f"forecast 6 months, warm: median {_ms(statistics.median(warm))} (max {_ms(max(warm))}, n={len(warm)})")
    slice_warm = [
        _timed(
            lambda p=p: sim.load_partner_inputs(data, p, start, months=forecast.snapshots_needed(start), cache=cache)
        )[0]
        for p in others
    ]
    print(f"  of which the partner-slice read: median {_ms(statistics.median(slice_warm))}")
    t, _ = _timed(lambda: one_simulation(others[0], cache))  # from-12 is the one month not cached yet
    print(f"simulation, cache holding 12 of its 13 months: {_ms(t)}")
    warm = [_timed(lambda p=p: one_simulation(p, cache))[0] for p in others]
    print(f"simulation, warm: median {_ms(statistics.median(warm))} (max {_ms(max(warm))}, n={len(warm)})")
    print(
        f"  process RSS {_rss_mb():,.0f} MiB, peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
    )
    cache.clear()
    cold = SnapshotCache()
    t, _ = _timed(lambda: one_simulation(others[-1], cold))
    print(f"simulation, cold (fresh cache, 13 months read): {_ms(t)}")
    cold.clear()


def api(data: Path, start: dt.date, partners: list[str], repeat: int, work_dir: Path) -> None:
    from sqlalchemy import event
    from starlette.testclient import TestClient

    from graphql_api.app import create_app
    from graphql_api.config import ApiSettings
    from scoring.ingest.slices import SNAPSHOTS
    from scoring.service import score_months
    from storage import migrate
    from storage.engines import get_engine
    from storage.results import months_scored, write_results

    work_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work_dir / f'forecast-{len(partners)}.sqlite'}"
    migrate.upgrade(url)
    engine = get_engine(url)
    if start not in months_scored(engine):
        _log(f"scoring {start:%Y-%m} for every partner and writing it to {url}")
        scored = score_months([start], directory=data)
        write_results(engine, months=scored.months, frames=scored.result.frames(), partners=scored.partners)
        del scored
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    admin = "bench-admin"
    SNAPSHOTS.clear()
    client = TestClient(create_app(ApiSettings(database_url=url, admin_token=admin, data_dir=data, cache_mb=0)))
    headers = {"Authorization": f"Bearer {admin}"}

    def call(query: str, pid: str) -> tuple[float, int]:
        statements.clear()
        t0 = time.perf_counter()
        r = client.post("/graphql", json={"query": query, "variables": {"id": pid}}, headers=headers)
        took = time.perf_counter() - t0
        body = r.json()
        assert r.status_code == 200 and not body.get("errors"), body
        return took, len(statements)

    with client:
        step = max(1, len(partners) // (repeat + 1))
        others = partners[step::step][:repeat]
        t, n = call(FORECAST_QUERY, partners[0])
        print(f"API forecast(months: 6), cold: {_ms(t)}, {n} SQL statements")
        runs = [call(FORECAST_QUERY, p) for p in others]
        print(
            f"API forecast(months: 6), warm: median {_ms(statistics.median(r[0] for r in runs))}, "
            f"SQL statements per call {sorted({r[1] for r in runs})}"
        )
        runs = [call(LAPSE_QUERY, p) for p in others]
        print(
            f"API status.projectedLapseMonth (12 months), warm: median {_ms(statistics.median(r[0] for r in runs))}, "
            f"SQL statements per call {sorted({r[1] for r in runs})}"
        )
        print(f"  process RSS {_rss_mb():,.0f} MiB; load average {os.getloadavg()[0]:.1f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/bench20k"))
    ap.add_argument("--partners", type=int, default=20000)
    ap.add_argument("--work-dir", type=Path, default=Path("/tmp/pcs-bench-forecast"))
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--no-api", action="store_true")
    args = ap.parse_args(argv)

    from scoring import ingest

    ensure_data(args.data, args.partners)
    start = ingest.list_months(args.data)[-1]
    partners = ingest.read_partners(args.data)["partner_id"].sort().to_list()
    pure(args.data, start, partners, args.repeat, not args.no_baseline)
    if not args.no_api:
        api(args.data, start, partners, args.repeat, args.work_dir)


if __name__ == "__main__":
    main()

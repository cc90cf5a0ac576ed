"""The scorecard page's own GraphQL queries, timed against a 20,000-partner database.

    uv run --frozen python benchmarks/page.py [--data /tmp/bench20k] [--work-dir var/bench]
        [--partners 30] [--cache-mb 0] [--seed 1] [--json FILE]

Data: the folder ``--data`` (default ``/tmp/bench20k``; made with ``pcs generate --out DIR
--partners 20000 --months 24`` when missing), its 2024-01..2024-12 scored by the real scoring and
written with ``storage.results.write_results`` into ``--work-dir/page-<partners>.sqlite`` (reused
by later runs).

Server: ``pcs serve`` (one worker) in a subprocess, with ``PCS_DATA_DIR`` set to the folder (the
skilling report and the what-if read it) and the response cache off by default (``--cache-mb 0``:
every request runs its query; the page's requests are rarely repeated). Client: httpx on loopback,
one request at a time, with a partner token for each of ``--partners`` random partners (the
admin's queries with the admin token), each partner at its latest month and at a random month.

The queries are read from ``graphql_api/static/js/queries.js``, i.e. exactly what the page sends:
``Partner`` (once per partner: name and trend), ``PartnerMonth`` (scorecard and status),
``Customers`` (every page of the month's customer rows), ``Skilling``; then, on demand, ``Simulate``
(the what-if form, one certified person added) and the admin's ``Overview``, ``ClosestMisses``,
``Search``. "month shown" is ``PartnerMonth`` + ``Customers`` + ``Skilling`` one after the other
(what the page asks when a month is picked; the browser sends the last two at once, so this is an
upper bound). Prints median, p90 and max per query, in milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import secrets
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))

QUERIES_JS = PROJECT_ROOT / "graphql_api" / "static" / "js" / "queries.js"
MONTHS = [dt.date(2024, m, 1) for m in range(1, 13)]
TARGET_MS = 300


def page_queries() -> dict[str, str]:
    """The page's documents by name (``export const NAME = `...`;`` in queries.js)."""
    return dict(re.findall(r"export const (\w+) = `(.*?)`;", QUERIES_JS.read_text(), flags=re.S))


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def prepare(data: Path, work_dir: Path) -> str:
    from pcs.generate import generate
    from scoring.service import score_months
    from storage import migrate
    from storage.engines import get_engine
    from storage.results import months_scored, write_results

    if not (data / "partners.csv").exists():
        _log(f"generating 20,000 partners x 24 months into {data} ...")
        generate(data, partners=20000, months=24, start="2023-01")
    partners = sum(1 for _ in (data / "partners.csv").open()) - 1
    work_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work_dir / f'page-{partners}.sqlite'}"
    migrate.upgrade(url)
    engine = get_engine(url)
    if months_scored(engine) != MONTHS:
        t0 = time.perf_counter()
        _log(f"scoring 2024-01..2024-12 of {partners} partners into {url} ...")
        scored = score_months(MONTHS, directory=data)
        write_results(engine, months=scored.months, frames=scored.result.frames(), partners=scored.partners)
        _log(f"scored and written in {time.perf_counter() - t0:.0f} s")
    return url


def summary(times: list[float]) -> dict:
    ms = sorted(t * 1000 for t in times)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(ms[min(len(ms) - 1, int(0.9 * len(ms)))], 1),
        "max_ms": round(ms[-1], 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/bench20k"))
    ap.add_argument("--work-dir", type=Path, default=PROJECT_ROOT / "var" / "bench")
    ap.add_argument("--partners", type=int, default=30, help="partners sampled (default 30)")
    ap.add_argument("--cache-mb", type=float, default=0, help="the server's response cache (default 0: off)")
    ap.add_argument("--simulations", type=int, default=5, help="what-if requests (each reads 13 months of input)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    import httpx
    from api_latency import Server

    from storage.engines import get_engine
    from storage.results import read_frame
    from storage.tokens import create_token

    url = prepare(args.data, args.work_dir)
    engine = get_engine(url)
    ids = read_frame(engine, "partners")["partner_id"].to_list()
    rng = random.Random(args.seed)
    sample = rng.sample(ids, min(args.partners, len(ids)))
    tokens = {p: create_token(engine, p, label="benchmarks/page.py")[1] for p in sample}
    admin = "bench-" + secrets.token_urlsafe(16)
    q = page_queries()
    os.environ["PCS_DATA_DIR"] = str(args.data.resolve())
    times: dict[str, list[float]] = {}
    server = Server(url, 1, admin, cache_mb=args.cache_mb)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=120) as http:

            def ask(name: str, token: str, variables: dict, record: str | None = None) -> tuple[dict, float]:
                t0 = time.perf_counter()
                r = http.post("/graphql", json={"query": q[name], "variables": variables},
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip
                took = time.perf_counter() - t0
                body = r.json()
                assert r.status_code == 200 and not body.get("errors"), (name, r.status_code, r.text[:300])
                times.setdefault(record or name, []).append(took)
                return body["data"], took

            # warm-up: the server's first skilling report and what-if read the certifications file
            first = sample[0]
            for name in ("SIGN_IN", "PARTNER_MONTH", "SKILLING"):
                ask(name, tokens[first], {"id": first}, record=f"(warm-up) {name}")
            if args.simulations:
                ask("SIMULATE", tokens[first], {"id": first, "changes": {}}, record="(warm-up) SIMULATE")
            _log("warmed up: " + ", ".join(f"{k} {v[0]:.2f} s" for k, v in times.items()))
            for i, pid in enumerate(sample):
                tok = tokens[pid]
                t_partner = time.perf_counter()
                ask("SIGN_IN", tok, {})
                ask("PARTNER", tok, {"id": pid})
                for month in (None, rng.choice(MONTHS).isoformat()[:7]):
                    v = {"id": pid, "month": month}
                    _, t_month = ask("PARTNER_MONTH", tok, v)
                    t_customers, after = 0.0, None
                    while True:
                        data, t = ask("CUSTOMERS", tok, {**v, "after": after}, record="CUSTOMERS (one page)")
                        t_customers += t
                        page = data["partner"]["customers"]
                        if not page["pageInfo"]["hasNextPage"]:
                            break
                        after = page["pageInfo"]["endCursor"]
                    times.setdefault("CUSTOMERS (every page)", []).append(t_customers)
                    _, t_skill = ask("SKILLING", tok, v)
                    times.setdefault("month shown (PartnerMonth + Customers + Skilling)", []).append(
                        t_month + t_customers + t_skill
                    )
                if i < args.simulations:
                    changes = {"addCertifiedPersons": [{"level": "ADVANCED", "count": 1}]}
                    ask("SIMULATE", tok, {"id": pid, "month": None, "changes": changes})
                _log(f"partner {i + 1}/{len(sample)} {pid}: {time.perf_counter() - t_partner:.2f} s")
            for _ in range(5):
                data, _t = ask("OVERVIEW", admin, {})
                month = data["programOverview"]["distributionMonth"]
                ask("CLOSEST_MISSES", admin, {"month": month})
            for text in ("P0001", "P01999", "partner 12", "zz"):
                ask("SEARCH", admin, {"text": text})
    finally:
        server.stop()

    rows = {name: summary(ts) for name, ts in times.items()}
    print(f"# The page's queries on {len(ids):,} partners ({url}), cache {args.cache_mb} MiB, {len(sample)} partners\n")
    print("| query | n | median ms | p90 ms | max ms |\n| --- | ---: | ---: | ---: | ---: |")
    for name, r in rows.items():
        print(f"| {name} | {r['n']} | {r['median_ms']} | {r['p90_ms']} | {r['max_ms']} |")
    month_shown = rows["month shown (PartnerMonth + Customers + Skilling)"]["median_ms"]
    verdict = "within" if month_shown <= TARGET_MS else "OVER"
    print(f"\nA partner's month: median {month_shown} ms, {verdict} the {TARGET_MS} ms target.")
    if args.json:
        args.json.write_text(json.dumps({"partners": len(ids), "cache_mb": args.cache_mb, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

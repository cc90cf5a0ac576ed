"""Webhook events at scale: prints how long a month's events take to compute (scoring.events),
what the ``webhook_events`` asset does per month (read M-1 and M from the database and compute:
``orchestration.webhooks.compute_month``), putting them into the outbox with their deliveries
(``storage.webhooks.record_events``, SQLite), putting them in again (a rescored month: nothing
new), and delivering to a local receiver (``orchestration.delivery``).

    uv run --frozen python benchmarks/webhook_events.py --data /tmp/bench20k --month 2024-06

The month and the one before are scored from the data folder first and written to a temporary
SQLite file (not timed)."""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl

from orchestration.delivery import deliver_due
from orchestration.webhooks import compute_month
from scoring import events, ingest, service
from scoring.calendar import add_months, parse_month
from scoring.rulebook import load_rulebooks
from storage import migrate, webhooks
from storage import results as store
from storage.engines import get_engine


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--month", required=True, help="YYYY-MM")
    ap.add_argument("--deliver", type=int, default=1000, help="deliveries to send to the local receiver")
    args = ap.parse_args()
    month = parse_month(args.month)
    before = add_months(month, -1)
    books = load_rulebooks()

    t0 = time.perf_counter()
    scored = service.score_months([before, month], directory=args.data)
    result = scored.result
    certs = ingest.read_certifications(args.data)
    print(f"scored {before:%Y-%m}..{month:%Y-%m} (not timed): {time.perf_counter() - t0:.1f} s")
    partners = result.designations.filter(pl.col("month") == month).height

    t0 = time.perf_counter()
    frame = events.month_events(
        month=month,
        designations=result.designations,
        metric_points=result.metric_points,
        certifications=certs,
        rulebook=books.for_month(month),
        designations_before=result.designations,
        metric_points_before=result.metric_points,
        rulebook_before=books.for_month(before),
    )
    compute_s = time.perf_counter() - t0
    by_type = dict(frame.group_by("type").len().sort("type").rows())
    print(f"events of {month:%Y-%m} for {partners} partners: {frame.height} in {compute_s:.2f} s  {by_type}")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'hooks.sqlite'}"
        migrate.upgrade(url)
        engine = get_engine(url)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
            webhooks.add_subscription(engine, url=hook, secret="s")  # admin: every event
            for pid in frame["partner_id"].drop_nulls().unique().sort().head(100):
                webhooks.add_subscription(engine, url=hook, secret="s", partner_id=pid, allow_unknown=True)
            store.write_results(engine, months=[before, month], frames=result.frames(), partners=scored.partners)
            t0 = time.perf_counter()
            stored = compute_month(
                engine, month=month, directory=Path(args.data), certifications=certs, rulebooks=books
            )
            s = time.perf_counter() - t0
            assert stored is not None and stored.equals(frame)
            print(f"compute_month (read M-1 and M from the database, compute): {stored.height} events in {s:.2f} s")
            t0 = time.perf_counter()
            rec = webhooks.record_events(engine, events=frame)
            print(
                f"record_events: {rec.events} events, {rec.deliveries} deliveries in {time.perf_counter() - t0:.2f} s"
            )
            t0 = time.perf_counter()
            again = webhooks.record_events(engine, events=frame)
            print(f"record_events again (rescored month): {again.events} new in {time.perf_counter() - t0:.2f} s")
            n = min(args.deliver, rec.deliveries)
            t0 = time.perf_counter()
            outcome = deliver_due(engine, limit=n, rounds=1, now=dt.datetime.now(dt.UTC))
            s = time.perf_counter() - t0
            print(f"deliver_due: {outcome} in {s:.2f} s ({outcome.attempted / s:.0f} deliveries/s, one at a time)")
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()

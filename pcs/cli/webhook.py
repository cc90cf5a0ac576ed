"""``pcs webhook add --url URL --secret SECRET [--partner ID] [--events TYPE,...]`` (prints the
id), ``pcs webhook list``, ``pcs webhook remove ID``, ``pcs webhook deliveries [--failed]`` and
``pcs webhook deliver`` (everything pending and due now, then exits): alert subscriptions and
their deliveries (``storage.webhooks``, ``orchestration.delivery``)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import polars as pl

from orchestration.delivery import deliver_due
from orchestration.tables import markdown
from scoring.events import EVENT_TYPES
from storage import migrate, webhooks
from storage.engines import get_engine


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="results database (default: PCS_DATABASE_URL)")
    sub = parser.add_subparsers(dest="webhook_command", required=True)
    add = sub.add_parser("add", parents=[common], help="subscribe a URL to alert events; prints its id")
    add.add_argument("--url", required=True, help="http(s) URL the events are POSTed to")
    add.add_argument("--secret", required=True, help="signs each body (X-PCS-Signature: HMAC-SHA256)")
    add.add_argument("--partner", help="only this partner's events (default: an admin subscription, every event)")
    add.add_argument("--events", help=f"comma-separated event types (default: all): {','.join(EVENT_TYPES)}")
    add.add_argument("--allow-unknown", action="store_true", help="allow a partner id not in the results yet")
    sub.add_parser("list", parents=[common], help="list subscriptions (never their secrets)")
    remove = sub.add_parser("remove", parents=[common], help="deactivate a subscription by its id")
    remove.add_argument("id", type=int, help="the subscription id (see `pcs webhook list`)")
    deliveries = sub.add_parser("deliveries", parents=[common], help="list deliveries, newest month first")
    deliveries.add_argument("--failed", action="store_true", help="only failed deliveries")
    deliveries.add_argument("--limit", type=int, default=200, help="at most this many rows (default 200)")
    sub.add_parser("deliver", parents=[common], help="deliver everything pending and due now, then exit")


def _time(t: dt.datetime | None) -> str:
    return "-" if t is None else t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _table(rows: list[tuple], columns: list[str]) -> str:
    frame = pl.DataFrame(rows, schema=columns, orient="row") if rows else pl.DataFrame(schema=columns)
    return markdown(frame, rows=max(len(rows), 1))


def run(args: argparse.Namespace) -> int:
    engine = get_engine(args.database_url)
    if not migrate.is_current(engine):
        print("error: the results database is not migrated; run `pcs migrate` first", file=sys.stderr)
        return 2
    command = args.webhook_command
    if command == "add":
        try:
            sub_id = webhooks.add_subscription(
                engine,
                url=args.url,
                secret=args.secret,
                partner_id=args.partner,
                event_types=None if args.events is None else args.events.split(","),
                allow_unknown=args.allow_unknown,
            )
        except ValueError as exc:
            print(f"pcs webhook add: {exc}", file=sys.stderr)
            return 2
        print(sub_id)
        return 0
    if command == "list":
        subs = webhooks.list_subscriptions(engine)
        rows = [
            (
                str(s.id),
                s.url,
                s.partner_id or "(admin)",
                ",".join(s.event_types) if s.event_types else "all",
                _time(s.created_at),
                "yes" if s.active else "no",
            )
            for s in subs
        ]
        print(_table(rows, ["id", "url", "partner", "events", "created", "active"]))
        return 0
    if command == "remove":
        if webhooks.remove_subscription(engine, args.id):
            print(f"removed subscription {args.id}")
            return 0
        print(f"pcs webhook remove: no active subscription with id {args.id}", file=sys.stderr)
        return 1
    if command == "deliveries":
        found = webhooks.list_deliveries(engine, status=webhooks.FAILED if args.failed else None, limit=args.limit)
        rows = [
            (
                str(d.id),
                d.event_type,
                f"{d.month:%Y-%m}",
                d.partner_id or "-",
                str(d.subscription_id),
                d.status,
                str(d.attempts),
                _time(d.next_attempt_at),
                "-" if d.last_status is None else str(d.last_status),
                d.last_error or "",
                _time(d.delivered_at),
            )
            for d in found
        ]
        columns = ["id", "event", "month", "partner", "subscription", "status", "attempts", "next attempt"]
        print(_table(rows, [*columns, "last status", "last error", "delivered"]))
        return 0
    if command == "deliver":
        outcome = deliver_due(engine)
        print(f"webhooks: {outcome}")
        return 0
    raise AssertionError(command)

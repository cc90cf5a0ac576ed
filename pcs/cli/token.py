"""``pcs token create --partner ID [--label L]``, ``pcs token list``, ``pcs token revoke ID``:
partner API tokens (``storage.tokens``); a token is printed once, by ``create``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import polars as pl

from orchestration.tables import markdown
from storage import migrate
from storage.engines import get_engine
from storage.tokens import UnknownPartnerError, create_token, list_tokens, revoke_token


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="results database (default: PCS_DATABASE_URL)")
    sub = parser.add_subparsers(dest="token_command", required=True)
    create = sub.add_parser("create", parents=[common], help="create a token for a partner and print it (once)")
    create.add_argument("--partner", required=True, help="the partner id the token may read")
    create.add_argument("--label", help="a note: who or what uses the token")
    create.add_argument(
        "--allow-unknown", action="store_true", help="allow a partner id that is not in the results yet"
    )
    lst = sub.add_parser("list", parents=[common], help="list tokens (never the tokens themselves)")
    lst.add_argument("--partner", help="only this partner's tokens")
    lst.add_argument("--active", action="store_true", help="hide revoked tokens")
    revoke = sub.add_parser("revoke", parents=[common], help="revoke a token by its id")
    revoke.add_argument("id", type=int, help="the token id (see `pcs token list`)")


def _fmt_time(t: dt.datetime | None) -> str:
    return "-" if t is None else t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    engine = get_engine(args.database_url)
    if not migrate.is_current(engine):
        print("error: the results database is not migrated; run `pcs migrate` first", file=sys.stderr)
        return 2
    if args.token_command == "create":
        try:
            token_id, token = create_token(engine, args.partner, args.label, allow_unknown=args.allow_unknown)
        except (UnknownPartnerError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"created token {token_id} for partner {args.partner.strip()}; it is shown only once:", file=sys.stderr)
        print(token)
        return 0
    if args.token_command == "list":
        rows = list_tokens(engine, args.partner, include_revoked=not args.active)
        table = pl.DataFrame(
            [(str(t.id), t.partner_id, t.label or "", _fmt_time(t.created_at), _fmt_time(t.revoked_at)) for t in rows],
            schema=["id", "partner", "label", "created", "revoked"],
            orient="row",
        )
        print(markdown(table, rows=max(len(rows), 1)))
        return 0
    if args.token_command == "revoke":
        if revoke_token(engine, args.id):
            print(f"revoked token {args.id}")
            return 0
        print(f"error: no active token with id {args.id}", file=sys.stderr)
        return 1
    raise AssertionError(args.token_command)

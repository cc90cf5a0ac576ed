"""Partner API tokens: ``pcs token create --partner ID [--label L]``, ``pcs token list``,
``pcs token revoke ID``.

A token is ``pcs_`` + 43 random URL-safe characters (256 bits). Only its SHA-256 (hex) is stored
(``api_token.token_hash``); the token itself is printed once, by ``create``. A partner token
reads that partner alone; the admin token (``PCS_ADMIN_TOKEN``) is not stored anywhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import secrets
import sys
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from storage import migrate
from storage import models as M
from storage.settings import get_engine

PREFIX = "pcs_"
TOKENS = M.ApiToken.__table__
PARTNERS = M.Partner.__table__


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    partner_id: str
    label: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class UnknownPartnerError(ValueError):
    pass


def create_token(
    engine: Engine, partner_id: str, label: str | None = None, *, allow_unknown: bool = False
) -> tuple[int, str]:
    """A new token for ``partner_id``: returns (id, token). Only its hash is stored."""
    partner_id = partner_id.strip()
    if not partner_id:
        raise ValueError("partner id must not be empty")
    token = new_token()
    with engine.begin() as conn:
        if not allow_unknown:
            known = conn.execute(sa.select(PARTNERS.c.partner_id).where(PARTNERS.c.partner_id == partner_id)).first()
            if known is None:
                raise UnknownPartnerError(f"unknown partner {partner_id!r} (not in the partner table)")
        token_id = conn.execute(
            sa.insert(TOKENS)
            .values(
                token_hash=hash_token(token), partner_id=partner_id, label=label, created_at=dt.datetime.now(dt.UTC)
            )
            .returning(TOKENS.c.id)
        ).scalar_one()
    return token_id, token


def list_tokens(engine: Engine, partner_id: str | None = None, *, include_revoked: bool = True) -> list[TokenInfo]:
    q = sa.select(TOKENS.c.id, TOKENS.c.partner_id, TOKENS.c.label, TOKENS.c.created_at, TOKENS.c.revoked_at)
    if partner_id is not None:
        q = q.where(TOKENS.c.partner_id == partner_id)
    if not include_revoked:
        q = q.where(TOKENS.c.revoked_at.is_(None))
    with engine.connect() as conn:
        return [TokenInfo(*row) for row in conn.execute(q.order_by(TOKENS.c.id))]


def revoke_token(engine: Engine, token_id: int) -> bool:
    """Revoke a token; False when there is no such token or it was revoked already."""
    with engine.begin() as conn:
        result = conn.execute(
            sa.update(TOKENS)
            .where(TOKENS.c.id == token_id, TOKENS.c.revoked_at.is_(None))
            .values(revoked_at=dt.datetime.now(dt.UTC))
        )
        return result.rowcount == 1


_LOOKUP = sa.select(TOKENS.c.id, TOKENS.c.partner_id).where(
    TOKENS.c.token_hash == sa.bindparam("h"), TOKENS.c.revoked_at.is_(None)
)  # built once: it runs on every partner request


def lookup_token(conn: Connection, token: str) -> tuple[int, str] | None:
    """(id, partner_id) of a valid (not revoked) token, else None."""
    row = conn.execute(_LOOKUP, {"h": hash_token(token)}).first()
    return None if row is None else (row[0], row[1])


# ---- pcs token -------------------------------------------------------------------------------


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
        header = ("id", "partner", "label", "created", "revoked")
        table = [header] + [
            (str(t.id), t.partner_id, t.label or "", _fmt_time(t.created_at), _fmt_time(t.revoked_at)) for t in rows
        ]
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        for r in table:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        return 0
    if args.token_command == "revoke":
        if revoke_token(engine, args.id):
            print(f"revoked token {args.id}")
            return 0
        print(f"error: no active token with id {args.id}", file=sys.stderr)
        return 1
    raise AssertionError(args.token_command)

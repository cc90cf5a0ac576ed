"""Partner API tokens: create, list, revoke and look up. A token is ``pcs_`` + 43 random URL-safe
characters (256 bits); only its SHA-256 (hex) is stored, and ``create_token`` returns the token
itself once. A partner token reads that partner alone; the admin token is not stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from storage import models as M

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

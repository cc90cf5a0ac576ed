"""Who is asking: the bearer token of a request -> a ``Viewer`` (admin, or one partner)."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from sqlalchemy import Connection

from storage import tokens

_BEARER = re.compile(r"Bearer[ \t]+([^\s]+)[ \t]*", re.IGNORECASE)
MAX_TOKEN_LENGTH = 512


class Unauthorized(Exception):
    """No usable credentials: the request is answered with HTTP 401 and no data."""

    def __init__(self, message: str, *, invalid_token: bool) -> None:
        super().__init__(message)
        self.invalid_token = invalid_token


@dataclass(frozen=True)
class Viewer:
    """The caller of one request: the admin (every partner) or one partner's token."""

    admin: bool = False
    partner_id: str | None = None
    token_id: int | None = None  # the api_token row of a partner token

    def can_read(self, partner_id: str) -> bool:
        return self.admin or partner_id == self.partner_id

    @property
    def cache_key(self) -> tuple:
        """What an answer may depend on about the viewer (the response cache's key part):
        the admin, or the partner (every token of a partner reads the same)."""
        return ("admin",) if self.admin else ("partner", self.partner_id)

    @property
    def only_partner(self) -> str | None:
        """The one partner this viewer may read, or None for the admin (all partners)."""
        return None if self.admin else self.partner_id


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (raises ``Unauthorized``)."""
    if not authorization:
        raise Unauthorized("Authorization required: send 'Authorization: Bearer <token>'.", invalid_token=False)
    m = _BEARER.fullmatch(authorization)
    if m is None or len(m[1]) > MAX_TOKEN_LENGTH:
        raise Unauthorized("Malformed Authorization header: expected 'Bearer <token>'.", invalid_token=True)
    return m[1]


def is_admin_token(token: str, admin_token: str | None) -> bool:
    if not admin_token:
        return False
    return hmac.compare_digest(token.encode(), admin_token.encode())


ADMIN = Viewer(admin=True)


def invalid_token() -> Unauthorized:
    return Unauthorized("Invalid or revoked token.", invalid_token=True)


def partner_viewer(found: tuple[int, str] | None) -> Viewer:
    """The viewer of a token lookup's ``(id, partner_id)``; raises ``Unauthorized`` for None."""
    if found is None:
        raise invalid_token()
    token_id, partner_id = found
    return Viewer(admin=False, partner_id=partner_id, token_id=token_id)


def authenticate(conn: Connection, token: str) -> Viewer:
    """The viewer of a partner token (not the admin's: check that first, without the database)."""
    return partner_viewer(tokens.lookup_token(conn, token))

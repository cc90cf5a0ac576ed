"""The typed per-request context: who asks, the request's database, loaders and budget, and whether
the answer may be cached."""

from __future__ import annotations

from dataclasses import dataclass

from graphql_api.auth import Viewer
from graphql_api.db.request import RequestDB
from graphql_api.errors import UserError
from graphql_api.loaders import Loaders
from graphql_api.services import Services


class Budget:
    """How much one request may still return (docs/architecture.md, "Request budget"); the
    resolvers charge it before they build what they return."""

    def __init__(self, scorecards: int, customers: int, rescorings: int = 99) -> None:
        self.scorecards = scorecards
        self.customers = customers
        # what-if scorings: a simulation costs 1, an at-risk search 50 (so one search and 49 simulations at most),
        # a forecast or a projected lapse month 1
        self.rescorings = rescorings

    def _charge(self, kind: str, n: int, what: str) -> None:
        left = getattr(self, kind) - n
        setattr(self, kind, left)
        if left < 0:
            raise UserError(f"Query too large: it would {what}", code="QUERY_TOO_LARGE")

    def charge_rescorings(self, n: int) -> None:
        self._charge(
            "rescorings",
            n,
            "run too many what-if scorings (simulate, warnings of an attaining month, forecasts). Ask for fewer.",
        )

    def charge_scorecards(self, n: int) -> None:
        self._charge("scorecards", n, "return too many scorecards. Ask for fewer partners or a narrower from/to range.")

    def charge_customers(self, n: int) -> None:
        self._charge("customers", n, "return too many customer rows. Ask for fewer.")


@dataclass
class Context:
    viewer: Viewer
    db: RequestDB
    services: Services
    loaders: Loaders
    budget: Budget
    # False once a resolver read something besides the database (the data folder): the answer
    # then must not go to the response cache, whose key covers the database's version only
    cacheable: bool = True

    def uncacheable(self) -> None:
        self.cacheable = False

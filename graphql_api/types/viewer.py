"""``Viewer``: who the bearer token is (the admin or one partner)."""

import strawberry

from graphql_api import auth


@strawberry.type(description="Who the request's token belongs to.")
class Viewer:
    admin: bool
    partner_id: strawberry.ID | None = strawberry.field(description="The partner of a partner token.")

    @classmethod
    def of(cls, v: auth.Viewer) -> "Viewer":
        return cls(admin=v.admin, partner_id=strawberry.ID(v.partner_id) if v.partner_id else None)

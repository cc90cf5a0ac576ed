import strawberry


@strawberry.type(description="Who the request's token belongs to.")
class Viewer:
    admin: bool
    partner_id: strawberry.ID | None = strawberry.field(description="The partner of a partner token.")

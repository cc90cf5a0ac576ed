import strawberry


@strawberry.type(description="Relay page info (forward pagination: first/after).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(description="True when the page was asked for with `after`.")
    start_cursor: str | None
    end_cursor: str | None

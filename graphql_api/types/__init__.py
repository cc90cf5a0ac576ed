"""The GraphQL types, one module per type (``partner`` holds ``Partner`` and ``Scorecard``, which
reach each other). Types are data built from rows (``from_row``); their resolving fields hand
over to ``graphql_api.resolvers``."""

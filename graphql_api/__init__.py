"""The GraphQL API over the stored scores (Strawberry, served by uvicorn).

- ``graphql_api.schema``   the schema (``schema``) and ``export_sdl()`` (``schema.graphql``)
- ``graphql_api.app``      ``create_app()``: the ASGI app (auth, GraphiQL on GET)
- ``pcs.cli.serve``   ``pcs serve``
- ``storage.tokens``   ``pcs token create|list|revoke`` and the token functions
- ``graphql_api.types``    one module per GraphQL type
"""

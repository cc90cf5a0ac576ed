"""The GraphQL API over the stored scores (Strawberry, served by uvicorn): ``app.create_app``,
``schema.schema``; ``pcs serve`` runs it. The package map and the reasons behind its unusual
parts: docs/architecture.md, "GraphQL API"."""

"""The GraphQL types, one module per type (or per small family of connection types)."""

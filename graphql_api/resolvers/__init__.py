"""What the fields of the types do: budget checks, queries through the loaders, cursors, the
services over the data folder. Resolvers return rows and plain data; the types build themselves
from those (``from_row``), so nothing here imports ``graphql_api.types``."""

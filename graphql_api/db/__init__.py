"""The database side of the API: a request's connection and snapshot (``request``), the SQL
(``queries``) and PostgreSQL's data version (``versions``)."""

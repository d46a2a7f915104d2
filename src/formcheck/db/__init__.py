"""The service's database: the jobs and clinic tables on SQLAlchemy Core, SQLite (default) or Postgres.

`tables` is the schema, `engine.make_engine` the connection setup per backend, `migrate.upgrade`
the Alembic migrations (`migrations/`) that create it or bring an older database up to date.
"""

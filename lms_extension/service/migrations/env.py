"""Alembic environment of the LMS service: migrations run on the service's own engine."""

from alembic import context

from lms_extension.service.db import make_engine

engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()

"""Alembic environment: the engine comes from toolgate, never from an ini file."""

from alembic import context

from verifier.store.models import SQLModel

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()

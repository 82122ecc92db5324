"""Alembic environment: the engine comes from toolgate, never from an ini file."""

from alembic import context

from advisories import metadata as advisories_metadata
from verifier.store.models import SQLModel

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=[SQLModel.metadata, advisories_metadata],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()

"""Alembic environment: the engine comes from toolgate, never from an ini file."""

from alembic import context
from sqlalchemy import text

from advisories import metadata as advisories_metadata
from verifier.store.models import SQLModel

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # Replicas starting together migrate one at a time; the later ones find nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(8750)"))
    context.configure(
        connection=connection,
        target_metadata=[SQLModel.metadata, advisories_metadata],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()

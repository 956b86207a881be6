"""Alembic environment. `flask --app portal init-db` passes its connection in;
run from the command line (alembic.ini), it builds the app to find the database."""

from alembic import context

import portal.models  # noqa: F401  (registers every table on Base.metadata)
from portal.db import Base, compared_with_models

config = context.config
target_metadata = Base.metadata


def run_migrations(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=compared_with_models,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    from portal import create_app
    from portal.db import get_engine, schema_change

    with create_app().app_context(), schema_change(get_engine()) as app_connection:
        run_migrations(app_connection)

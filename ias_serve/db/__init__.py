"""PostgreSQL state: models, engine, Alembic migrations, repositories, bootstrap.

Entry points: :func:`ias_serve.db.engine.make_engine`, :func:`ias_serve.db.engine.make_sessionmaker`,
:func:`ias_serve.db.migrate.upgrade_head`, :mod:`ias_serve.db.repositories`,
:func:`ias_serve.db.bootstrap.ensure_system_admin`.
"""

"""ClickHouse adapter: client factory, versioned schema, exact usage writer, read helpers."""

from ias_serve.analytics.client import DEFAULT_DATABASE, database_of, get_client
from ias_serve.analytics.queries import UsageTotals, org_totals, org_totals_raw, tokens_by_org
from ias_serve.analytics.schema import (
    MIGRATIONS,
    Migration,
    applied_versions,
    apply_schema,
    existing_request_ids,
    insert_usage_events,
)

__all__ = [
    "DEFAULT_DATABASE",
    "MIGRATIONS",
    "Migration",
    "UsageTotals",
    "applied_versions",
    "apply_schema",
    "database_of",
    "existing_request_ids",
    "get_client",
    "insert_usage_events",
    "org_totals",
    "org_totals_raw",
    "tokens_by_org",
]

"""`ias-admin`: the command-line client of the IAS Management and Analytics APIs (HTTP only)."""

"""Use cases of the Core Management API (``/api``): one plain service class per resource, all
built on :class:`~ias_serve.services.management.context.ManagementContext`."""

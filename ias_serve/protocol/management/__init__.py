"""Wire formats of the Core Management API (``/api``): one module per resource, each with
``XCreate`` / ``XUpdate`` / ``XPublic`` / ``XsPublic(data, count)`` as it needs them."""

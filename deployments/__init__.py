"""The only package that imports Ray: one module per Serve app, plus the local launcher."""

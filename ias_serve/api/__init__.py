"""FastAPI routers and app factories (thin: parse -> one service call -> response)."""

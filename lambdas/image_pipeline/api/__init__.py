"""The API function: its handler, composition root, settings, routes (Powertools routers) and error statuses."""

"""The REST API's routes (Powertools routers), included by handlers/api.py."""

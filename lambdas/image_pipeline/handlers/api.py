"""Entry point of the api function: the handler lives in image_pipeline/api/handler.py."""

from image_pipeline.api.handler import handler

__all__ = ["handler"]

"""Entry point of the dispatcher function: the handler lives in image_pipeline/webhooks/handler.py."""

from image_pipeline.webhooks.handler import handler

__all__ = ["handler"]

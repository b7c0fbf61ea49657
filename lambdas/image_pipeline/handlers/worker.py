"""Entry point of the worker function: the handler lives in image_pipeline/recognition/handler.py."""

from image_pipeline.recognition.handler import handler

__all__ = ["handler"]

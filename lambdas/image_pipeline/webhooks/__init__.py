"""Signed webhook delivery (Standard Webhooks) of the pipeline's domain events to third-party endpoints."""

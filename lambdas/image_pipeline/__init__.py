"""Lambda code of the image recognition pipeline: handlers -> domain -> adapters."""

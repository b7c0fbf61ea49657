"""Domain logic: knows nothing of Lambda events or HTTP; talks to AWS only through adapters."""

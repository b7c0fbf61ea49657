"""Lambda on this machine: the functions' execution environments and what invokes them (SQS pollers, SNS bridges)."""

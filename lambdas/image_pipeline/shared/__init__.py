"""What every flow shares: the settings base, telemetry, page tokens, DynamoDB values, domain exceptions."""

"""Tools around the local mode: an app client, the demo, a webhook receiver."""

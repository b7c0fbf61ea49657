"""The local mode: the synthesized app run on one machine (moto, the offline analyzer, local Lambda and API Gateway)."""

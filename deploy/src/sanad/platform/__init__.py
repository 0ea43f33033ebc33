"""The local platform: real Kafka, Postgres, Redis, sinks and every service."""

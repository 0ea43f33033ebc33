"""External systems behind small interfaces: the civil registry, and Redis (pending codes,
rate limits, sign-in lockout)."""

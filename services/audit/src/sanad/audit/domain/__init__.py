"""The audit's pure rules: what a recorded event is, the projections rebuilt from the
stream, the checks, the reproduction of evaluations and the reports. No I/O here."""

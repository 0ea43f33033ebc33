"""The use cases of applications: each is one transaction (state, history and events through
the outbox) or writes nothing. Errors are ``Problem``s; no HTTP type is known here."""

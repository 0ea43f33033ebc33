"""Pure rules of the identity service: no I/O, unit-tested."""

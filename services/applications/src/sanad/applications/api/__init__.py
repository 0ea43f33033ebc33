"""HTTP only: parse and validate, call one use case, shape the answer."""

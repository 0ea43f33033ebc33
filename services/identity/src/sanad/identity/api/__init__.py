"""HTTP routes of the identity service."""

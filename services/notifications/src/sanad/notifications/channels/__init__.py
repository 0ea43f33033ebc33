"""The ways a message leaves Sanad: an SMS provider and an SMTP server."""

"""Sanad identity service."""

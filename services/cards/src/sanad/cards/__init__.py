"""Sanad cards service."""

"""Sanad profile service."""

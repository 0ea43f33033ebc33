"""Sanad notifications service."""

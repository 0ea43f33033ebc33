"""Shared building blocks of every Sanad service."""

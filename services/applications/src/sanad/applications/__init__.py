"""Sanad applications service."""

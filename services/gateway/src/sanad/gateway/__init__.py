"""Sanad gateway service."""

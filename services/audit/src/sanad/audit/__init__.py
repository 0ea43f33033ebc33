"""Sanad audit service."""

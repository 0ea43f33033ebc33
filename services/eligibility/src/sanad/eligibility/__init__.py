"""Sanad eligibility service."""

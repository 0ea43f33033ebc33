"""Sanad portal: the citizen portal and the caseworker console, over the gateway's API."""

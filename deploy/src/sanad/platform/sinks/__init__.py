"""Local stand-ins for outside providers: a fake SMS API and an SMTP mail catcher.

Both keep what they receive in memory and expose it over a small HTTP JSON API, so tests
and developers can see exactly what the platform would have sent.
"""

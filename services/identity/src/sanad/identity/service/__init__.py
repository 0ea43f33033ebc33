"""The identity service's use cases, free of HTTP: each validates, decides and writes (its
Postgres writes and their events in one transaction), raising ``Problem`` when refused."""

"""External systems: document storage and the program cache in Redis."""

"""Pure rules of the cards service: no I/O, no clock reads (callers pass `now`)."""

"""Pure eligibility rules: facts, rule sets as data, the CEL evaluation and its explanation.
No I/O and no clock reads here: callers pass the date."""

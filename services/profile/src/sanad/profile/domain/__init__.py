"""The unified profile's rules: section and dependent validation, household figures,
completeness. Pure: no I/O, so every rule is unit-tested."""

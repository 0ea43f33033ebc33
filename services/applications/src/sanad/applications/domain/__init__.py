"""Pure rules of applications: states, the form and payment destinations, documents, the
program catalog and the decision policy. No I/O and no clock reads (callers pass ``now``)."""

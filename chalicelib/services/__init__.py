"""Use cases: each function takes a RequestContext and plain values, and works through the store."""

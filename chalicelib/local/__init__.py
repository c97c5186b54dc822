"""The embedded local stack behind `make run`: moto server, tables, demo tenant, chalice local, tick loop."""

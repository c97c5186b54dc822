"""HTTP entrypoints: blueprints that parse, call a service, and shape the answer."""

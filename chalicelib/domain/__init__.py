"""Pure domain: plain data and rules. Imports nothing from store, services, api or AWS libraries."""

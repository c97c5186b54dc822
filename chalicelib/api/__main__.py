"""`python -m chalicelib.api` prints the API's OpenAPI document; openapi.json in the repo is that output (a test
keeps it current)."""
from . import blueprints  # noqa: F401  (registers every blueprint's operations)
from .openapi import document_json

print(document_json(), end="")

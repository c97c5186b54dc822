"""Deployable infrastructure generated from the code's own definitions (tables from the PynamoDB models)."""

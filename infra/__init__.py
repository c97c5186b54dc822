"""Deployable infrastructure generated from the code's own definitions: `python -m infra` (`make infra`) writes
infra/merge-<stage>.json, which `make package` merges into Chalice's SAM template (docs/operations.md: Deploying
to AWS)."""

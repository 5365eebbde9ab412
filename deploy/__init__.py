"""A production-shaped stack on one machine: `make topology` (see deploy/topology.py)."""

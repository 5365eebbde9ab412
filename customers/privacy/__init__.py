"""The customer-data contract (`contract`), the customers app's own handler (`handler`) and
the streaming export (`export`). See docs/architecture.md, "Privacy"."""

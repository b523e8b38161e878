"""Models of the cloud app (see DESIGN.md)."""

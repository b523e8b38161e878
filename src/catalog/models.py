"""Models of the catalog app (see DESIGN.md)."""

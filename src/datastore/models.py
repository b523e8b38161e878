"""Models of the datastore app (see DESIGN.md)."""

"""Models of the exchange app (see DESIGN.md)."""

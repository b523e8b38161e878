"""Cross-cutting side effects that must not know each other (see STYLE.md)."""

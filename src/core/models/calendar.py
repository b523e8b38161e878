"""calendar models (filled by the core services work)."""

__all__: list[str] = []

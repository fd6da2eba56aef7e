"""The four Kotoutus services; each keeps its own event store."""

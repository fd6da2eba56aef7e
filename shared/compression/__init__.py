"""Stored JSON compressed with a preset dictionary kept in the same store."""

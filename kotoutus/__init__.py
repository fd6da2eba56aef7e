"""Composition root: assembles the services into the embedded or the distributed system."""

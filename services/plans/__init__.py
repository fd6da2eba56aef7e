"""Plans: the integration plan (kotoutumissuunnitelma) and its measures."""

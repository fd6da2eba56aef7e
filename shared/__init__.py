"""Project-wide code of Kotoutus: contracts, law rules, event-store setup and messaging."""

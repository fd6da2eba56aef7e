"""Assessment: the initial assessment (alkukartoitus) — its deadline, its steps, its outcome."""

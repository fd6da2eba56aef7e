"""Who may call the staff API: bearer tokens, roles, organisation scoping, and the access log."""

"""Notifications: what must be told to whom and when — reminders of every deadline."""

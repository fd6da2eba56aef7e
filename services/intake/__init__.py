"""Intake: owns the client — identity, languages, status facts and the responsible organisation."""

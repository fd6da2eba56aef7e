"""Retention: how long each class of personal records is kept, and when it goes by itself."""

from shared.retention.classes import (
    Clock,
    EndsIn,
    Period,
    RetentionClass,
    SourceKind,
    UnknownRetentionClassError,
    load_classes,
    retention_classes,
)
from shared.retention.schedule import Expiry, Hold, expiry, is_due, period_end

__all__ = [
    "Clock",
    "EndsIn",
    "Expiry",
    "Hold",
    "Period",
    "RetentionClass",
    "SourceKind",
    "UnknownRetentionClassError",
    "expiry",
    "is_due",
    "load_classes",
    "period_end",
    "retention_classes",
]

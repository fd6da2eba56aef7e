"""The assessment's value objects are public: they are defined with the contracts."""

from shared.contracts.assessment import (
    Cefr,
    EducationLevel,
    Findings,
    Interpreter,
    InterpreterKind,
    Interview,
    LanguageSkill,
    Literacy,
    OpenedBy,
    ReferralOutcome,
    ReferralService,
)

__all__ = [
    "Cefr",
    "EducationLevel",
    "Findings",
    "Interpreter",
    "InterpreterKind",
    "Interview",
    "LanguageSkill",
    "Literacy",
    "OpenedBy",
    "ReferralOutcome",
    "ReferralService",
]

"""The law of the day as data: rules with validity periods and citations."""

from shared.law.rulebook import NoRuleInForceError, Rule, RuleBook, RuleRef, rulebook

__all__ = ["NoRuleInForceError", "Rule", "RuleBook", "RuleRef", "rulebook"]

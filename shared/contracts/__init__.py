"""Versioned contracts of every public event: pydantic models, documented in AsyncAPI."""

from shared.contracts.envelope import ContractError, PublicEvent, parse_event
from shared.contracts.events import CONTRACTS

__all__ = ["CONTRACTS", "ContractError", "PublicEvent", "parse_event"]

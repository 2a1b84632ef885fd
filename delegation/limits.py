"""Limits are configuration: sizes are checked before anything is decoded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .errors import ConfigurationError

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    """Bounds applied by minting and verification.

    >>> Limits().max_chain_length, Limits(clock_skew=5).clock_skew
    (16, 5)
    """

    #: Fixed bounds of the capability schema, checked whenever a capability is parsed
    #: (tokens, policies, the CLI): constraints per capability, values per ``one_of``.
    #: With ``max_caps_per_token`` they bound the cost of an attenuation check.
    MAX_CONSTRAINTS_PER_CAP: ClassVar[int] = 8
    MAX_CONSTRAINT_VALUES: ClassVar[int] = 64

    max_chain_length: int = 16
    max_token_bytes: int = 8 * 1024
    max_caps_per_token: int = 16
    max_token_lifetime: int = 3600
    max_proof_lifetime: int = 120
    clock_skew: int = 30

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigurationError(f"Limits.{name} must be a non-negative integer")
        if self.max_chain_length < 1 or self.max_token_bytes < 256:
            raise ConfigurationError("Limits: chain length >= 1 and token bytes >= 256")

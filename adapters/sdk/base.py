"""What an agency implements to plug into the hub.

An adapter translates one canonical step command into its agency's native call and
the native answer back into a canonical status report. Everything around that
(consuming, retries, idempotency, dead letters) is the worker's job, so an agency
team writes only the part that is specific to its backend.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from typing import ClassVar

from adapters.sdk.settings import BackendSettings
from schemas.messages import StepCommand, StepStatusReport


class Adapter(ABC):
    #: Agency name: also the suffix of the command topic it consumes (``mpp.commands.<agency>``).
    agency: ClassVar[str]
    #: Operation names (from the catalogue) this adapter can carry out.
    operations: ClassVar[frozenset[str]]

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings

    @abstractmethod
    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        """Carry out ``command`` at the agency, passing ``step_id`` as its idempotency key.

        Raise ``TransientBackendError`` when a retry may help, ``AgencyRejection`` when the
        agency refused, ``AgencyAnswerInvalid`` when its answer makes no sense.
        """

    async def aclose(self) -> None:
        """Release connections. Called once when the worker stops."""

"""What an agency implements to plug into the hub.

An adapter translates one canonical step command into its agency's native call and
the native answer back into a canonical status report. Everything around that
(consuming, retries, circuit breaking, idempotency, dead letters) is the worker's
job, so an agency team writes only what is specific to its backend.

Three backend styles are supported:

- ``SYNC``: ``execute`` returns the final outcome (Samsat).
- ``CALLBACK``: ``execute`` returns ACCEPTED; the agency later calls the hub back,
  the hub verifies the signature and hands the native body to ``translate_callback``
  (Polri).
- ``POLLING``: ``execute`` returns ACCEPTED with an ``agency_ref`` and
  ``poll_after_seconds``; the hub then sends ``poll`` commands until a final status
  (Imigrasi).
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from enum import StrEnum
from typing import ClassVar

from adapters.sdk.settings import BackendSettings
from schemas.messages import AgencyCallback, StepCommand, StepStatusReport


class BackendStyle(StrEnum):
    SYNC = "sync"
    CALLBACK = "callback"
    POLLING = "polling"


class Adapter(ABC):
    #: Agency name: also the suffix of the command topic it consumes (``mpp.commands.<agency>``).
    agency: ClassVar[str]
    #: Operation names (from the catalogue) this adapter can carry out.
    operations: ClassVar[frozenset[str]]
    style: ClassVar[BackendStyle] = BackendStyle.SYNC
    #: Whether ``cancel`` can stop a running step at the agency.
    supports_cancel: ClassVar[bool] = False

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings

    @abstractmethod
    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        """Carry out ``command`` at the agency, passing ``step_id`` as its idempotency key.

        Raise ``TransientBackendError`` when a retry may help, ``AgencyRejection`` when the
        agency refused, ``AgencyAnswerInvalid`` when its answer makes no sense.
        """

    async def poll(self, command: StepCommand, step_id: uuid.UUID, agency_ref: str) -> StepStatusReport:
        """Polling backends: where is the step now? Same error contract as ``execute``."""
        raise NotImplementedError(f"{self.agency} is not a polling backend")

    async def cancel(self, command: StepCommand, step_id: uuid.UUID, agency_ref: str | None) -> StepStatusReport:
        """Ask the agency to stop the step: CANCELLED if it did, otherwise the step's current
        status (e.g. already issued). Only called when ``supports_cancel`` is true."""
        raise NotImplementedError(f"{self.agency} cannot cancel")

    def translate_callback(self, callback: AgencyCallback, step_id: uuid.UUID) -> StepStatusReport:
        """Callback backends: the native callback body as a canonical report.

        Raise ``AgencyAnswerInvalid`` for a body that cannot be understood."""
        raise NotImplementedError(f"{self.agency} does not call back")

    async def aclose(self) -> None:
        """Release connections. Called once when the worker stops."""

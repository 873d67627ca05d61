"""What an agency implements to plug into the hub.

An adapter translates one canonical step command into its agency's native call and
the native answer back into a canonical status report. Everything around that
(consuming, retries, circuit breaking, idempotency, dead letters) is the worker's
job, so an agency team writes only what is specific to its backend.

What an adapter can do beyond ``execute`` it declares in ``capabilities``; the worker
reads the declaration before it calls, so a poll, cancel or callback the agency
cannot take never reaches the adapter. The declaration also fixes the backend style:

- ``SYNC`` (neither POLL nor CALLBACK): ``execute`` returns the final outcome (Samsat).
- ``CALLBACK``: ``execute`` returns ACCEPTED; the agency later calls the hub back,
  the hub verifies the signature and hands the native body to ``translate_callback``
  (Polri).
- ``POLLING`` (POLL): ``execute`` returns ACCEPTED with an ``agency_ref`` and
  ``poll_after_seconds``; the hub then sends ``poll`` commands until a final status
  (Imigrasi).
- ``BATCH`` (BATCH and POLL): the agency exchanges files in batches. ``execute`` puts
  the command as one record into the agency's open batch (idempotent by step id) and
  returns ACCEPTED with the batch and record as ``agency_ref`` and
  ``poll_after_seconds`` reaching past the batch's cut-off; ``poll`` reads the
  batch's result file and reports the record's result, or the same status again
  while the file is not out. The hub's poller drives the re-asks, so no result is
  missed and none is applied twice (Kemenhaj's Siskohat exchange).
  :mod:`adapters.sdk.batch` has the small pieces such an adapter shares.

``CANCEL`` adds ``cancel``: stopping a running step at the agency (Imigrasi).
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from adapters.sdk.errors import AgencyAnswerInvalid, UndeclaredCapability
from adapters.sdk.settings import BackendSettings, narrow
from schemas.lifecycle import Status
from schemas.messages import AgencyCallback, StepCommand, StepStatusReport
from schemas.validation import describe

M = TypeVar("M", bound=BaseModel)


class BackendStyle(StrEnum):
    SYNC = "sync"
    CALLBACK = "callback"
    POLLING = "polling"
    BATCH = "batch"


class Capability(StrEnum):
    """What an adapter can do besides ``execute``; each has its method."""

    POLL = "poll"
    CALLBACK = "callback"
    CANCEL = "cancel"
    #: Commands go into the agency's batches; results come with its result files,
    #: read by ``poll`` (so BATCH comes with POLL).
    BATCH = "batch"


#: The method each capability promises (BATCH promises POLL's ``poll``).
CAPABILITY_METHODS: dict[Capability, str] = {
    Capability.POLL: "poll",
    Capability.CALLBACK: "translate_callback",
    Capability.CANCEL: "cancel",
}


def _style_of(capabilities: frozenset[Capability]) -> BackendStyle:
    if {Capability.POLL, Capability.CALLBACK} <= capabilities:
        raise TypeError("an adapter is polled or called back, not both")
    if Capability.BATCH in capabilities:
        if Capability.POLL not in capabilities:
            raise TypeError("a batch adapter reads its results by polling: declare POLL with BATCH")
        return BackendStyle.BATCH
    if Capability.POLL in capabilities:
        return BackendStyle.POLLING
    if Capability.CALLBACK in capabilities:
        return BackendStyle.CALLBACK
    return BackendStyle.SYNC


class Adapter(ABC):
    #: Agency name: also the suffix of the command topic it consumes (``mpp.commands.<agency>``).
    agency: ClassVar[str]
    #: Operation names (from the catalogue) this adapter can carry out.
    operations: ClassVar[frozenset[str]]
    #: What it can do besides ``execute`` (the worker checks before calling).
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    #: Follows from ``capabilities``; set at class creation.
    style: ClassVar[BackendStyle] = BackendStyle.SYNC
    #: The agency's settings (a subclass of BackendSettings for agency-specific fields).
    settings_model: ClassVar[type[BackendSettings]] = BackendSettings
    #: The backend's name in messages ("SIMKAH", "DJP"); the agency name unless declared.
    label: ClassVar[str] = ""

    settings: BackendSettings

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        style = _style_of(cls.capabilities)
        if "style" in vars(cls) and cls.style is not style:
            raise TypeError(f"{cls.__name__} declares style {cls.style} but capabilities {sorted(cls.capabilities)} make it {style}")
        cls.style = style
        if not cls.label and "agency" in vars(cls):
            cls.label = cls.agency

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = self.narrow_settings(settings)

    @classmethod
    def narrow_settings(cls, settings: BackendSettings) -> BackendSettings:
        """The generic settings the hub holds as this agency's ``settings_model``;
        ``AdapterSettingsError`` names the environment variable to fix."""
        return narrow(settings, cls.settings_model, cls.agency)

    @abstractmethod
    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        """Carry out ``command`` at the agency, passing ``step_id`` as its idempotency key.

        Raise ``TransientBackendError`` when a retry may help, ``AgencyRejection`` when the
        agency refused, ``AgencyAnswerInvalid`` when its answer makes no sense.
        """

    async def poll(self, command: StepCommand, step_id: uuid.UUID, agency_ref: str) -> StepStatusReport:
        """``Capability.POLL``: where is the step now? Same error contract as ``execute``."""
        raise UndeclaredCapability(self.agency, Capability.POLL)

    async def cancel(self, command: StepCommand, step_id: uuid.UUID, agency_ref: str | None) -> StepStatusReport:
        """``Capability.CANCEL``: ask the agency to stop the step: CANCELLED if it did,
        otherwise the step's current status (e.g. already issued)."""
        raise UndeclaredCapability(self.agency, Capability.CANCEL)

    def translate_callback(self, callback: AgencyCallback, step_id: uuid.UUID) -> StepStatusReport:
        """``Capability.CALLBACK``: the native callback body as a canonical report.

        Raise ``AgencyAnswerInvalid`` for a body that cannot be understood."""
        raise UndeclaredCapability(self.agency, Capability.CALLBACK)

    async def aclose(self) -> None:  # noqa: B027 - an optional hook: most adapters hold nothing to release
        """Release connections. Called once when the worker stops."""

    # -- helpers every adapter needs ----------------------------------------------------

    def check_operation(self, command: StepCommand) -> None:
        """The worker never sends an undeclared operation; a direct caller gets the same answer."""
        if command.operation not in self.operations:
            raise AgencyAnswerInvalid("unsupported_operation", f"{self.agency} has no operation {command.operation!r}")

    def parse_input(self, model: type[M], command: StepCommand) -> M:
        """``command.data`` as the service's input model; data that does not fit is the
        hub's mistake, reported FAILED ``invalid_step_input`` before the agency is called."""
        try:
            return model.model_validate(command.data)
        except ValidationError as exc:
            raise AgencyAnswerInvalid("invalid_step_input", f"step input does not match {command.service}: {describe(exc)}") from None

    @contextmanager
    def native_request(self) -> Iterator[None]:
        """Around building the native request: canonical input the agency's stricter
        format refuses is ``invalid_step_input`` too, never a crash."""
        try:
            yield
        except ValidationError as exc:
            raise AgencyAnswerInvalid(
                "invalid_step_input", f"step input cannot be expressed in {self.label}'s format: {describe(exc)}"
            ) from None

    @contextmanager
    def canonical_output(self) -> Iterator[None]:
        """Around building the service's output from the agency's answer: an answer that
        cannot make one is the agency's fault, FAILED ``agency_answer_invalid`` naming the
        fields (never their values), not a crash."""
        try:
            yield
        except ValidationError as exc:
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", f"{self.label}'s answer does not fit the service's output: {describe(exc, root='output')}"
            ) from None

    @staticmethod
    def completed(output: BaseModel, agency_status: str, agency_ref: str | None = None) -> StepStatusReport:
        """The step is done: COMPLETED with ``output``, the agency's own status word and reference."""
        return StepStatusReport(
            status=Status.COMPLETED,
            outputs=output.model_dump(mode="json"),
            agency_status=agency_status[:100],
            agency_ref=agency_ref[:200] if agency_ref else None,
        )


def validated_answer(model: type[M], raw: Any, problem: str, *, root: str = "<root>", code: str = "agency_answer_invalid") -> M:
    """``raw`` (the agency's answer, or values taken from it) as ``model``; one that does
    not fit is the agency's fault, ``AgencyAnswerInvalid(code)`` with ``problem`` and the
    fields at fault (never their values), not a crash."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise AgencyAnswerInvalid(code, f"{problem}: {describe(exc, root=root)}") from None


def capability_mismatches(adapter: type[Adapter]) -> list[str]:
    """Declared capabilities without their method, and methods without their declaration
    (the worker would never call them)."""
    problems = []
    for capability, method in CAPABILITY_METHODS.items():
        implemented = getattr(adapter, method) is not getattr(Adapter, method)
        declared = capability in adapter.capabilities
        if declared and not implemented:
            problems.append(f"declares {capability} but does not implement {method}")
        elif implemented and not declared:
            problems.append(f"implements {method} but does not declare {capability}")
    return problems

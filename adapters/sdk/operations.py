"""A synchronous operation declared as data, and the one executor adapters run it with.

Every operation an agency answers at once takes the same steps: read the canonical
input, build the agency's request (canonical input its format refuses is
``invalid_step_input``), send it and check the answer, make the service's output (an
answer that cannot make one is ``agency_answer_invalid``), report COMPLETED with the
agency's status word and reference. An adapter declares only what differs -- the
request builder, the call, the mapping -- in one :class:`Operation` per operation, and
:func:`run` takes the steps, in that order, for all of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from adapters.sdk.base import Adapter
from schemas.messages import StepCommand, StepStatusReport

I = TypeVar("I", bound=BaseModel)  # noqa: E741 - the canonical Input, beside N and A
N = TypeVar("N")
A = TypeVar("A")


@dataclass(frozen=True)
class Operation(Generic[I, N, A]):
    """One operation: ``input`` is its canonical input model; ``request`` builds the
    agency's request from the command, that input and the step id (the idempotency key);
    ``call`` sends it and returns the agency's success answer, checked against what was
    asked (any other answer raises the SDK error it means); ``output`` maps that answer
    to the service's output; ``receipt`` is the agency's status word and reference in it."""

    input: type[I]
    request: Callable[[StepCommand, I, uuid.UUID], N]
    call: Callable[[N, I, uuid.UUID], Awaitable[A]]
    output: Callable[[A], BaseModel]
    receipt: Callable[[A], tuple[str, str | None]]


async def run(adapter: Adapter, operation: Operation[Any, Any, Any], command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
    """The steps of ``operation`` for ``command``, as the module docstring says."""
    data = adapter.parse_input(operation.input, command)
    with adapter.native_request():
        request = operation.request(command, data, step_id)
    answer = await operation.call(request, data, step_id)
    with adapter.canonical_output():
        output = operation.output(answer)
    status, reference = operation.receipt(answer)
    return adapter.completed(output, status, reference)


async def run_table(
    adapter: Adapter, table: Mapping[str, Operation[Any, Any, Any]], command: StepCommand, step_id: uuid.UUID
) -> StepStatusReport:
    """``command``'s operation from ``table`` (an adapter's ``execute``), once the adapter
    has checked it offers that operation."""
    adapter.check_operation(command)
    return await run(adapter, table[command.operation], command, step_id)

"""Dead letters an operator can trust: archived, browsable, replayable, audited.

- ``models``: the ``dead_letters`` archive and its append-only ``dead_letter_audit``.
- ``policy``: the loop guard (when a record is quarantined, when a replay is refused).
- ``archive``: the consumer of ``mpp.deadletter`` that fills the archive.
- ``service``: list, show, replay (one or in bulk), resolve; shared by API and CLI.
- ``cli``: the ``mpp-hub dlq`` commands.
"""

from __future__ import annotations

from hub.features.deadletters.archive import run_archiver
from hub.features.deadletters.models import DeadLetter, DeadLetterAudit

__all__ = ["DeadLetter", "DeadLetterAudit", "run_archiver"]

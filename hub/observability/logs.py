"""Logging for every hub process: text or one JSON object per line
(``MPP_LOG_FORMAT=json``), and a redaction filter on every handler.

A JSON line carries time, level, process, logger, message, and the case id,
correlation id, trace id and span id of the work that wrote it (the consume loop and
the API set them, see :mod:`messaging.tracing`); ``exception`` holds the traceback.

Redaction is the last line of defence, not the first (code never logs personal data,
and the database engines hide statement parameters): any run of 16 or more digits is
masked as a NIK would be, and secret shapes (bearer and basic credentials, passwords
in URLs, HMAC signatures, ``password=`` / ``secret=`` / ``token=`` / ``api_key=``
values) lose their values; in the message, the traceback and the stack alike.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Literal

from messaging.tracing import log_ids

LogFormat = Literal["text", "json"]

#: Chatty libraries: their INFO is about connections, not about the hub's work.
QUIET_LOGGERS = ("aiokafka", "httpx")

_DIGIT_RUN = re.compile(r"\d{16,}")
_SECRETS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+"), r"\1\2***"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"), r"\1***@"),  # scheme://user:password@host
    (re.compile(r"(?i)\b(v1=)[0-9a-f]{8,}"), r"\1***"),  # t=...,v1=<hmac> signatures
    (
        re.compile(
            r"(?i)\b((?:client[_-]?)?secret|password|passwd|pwd|token|access[_-]?token|api[_-]?key|apikey|"
            r"signing[_-]?key|hmac[_-]?key|private[_-]?key|x-api-key)"
            r"([\"']?\s*[:=]\s*[\"']?)[^\s\"',;&}]+"
        ),
        r"\1\2***",
    ),
]


def redact(text: str) -> str:
    """``text`` without NIK-like digit runs and secret values."""
    text = _DIGIT_RUN.sub(_mask_digits, text)
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _mask_digits(match: re.Match[str]) -> str:
    run = match.group()
    return run[:4] + "*" * (len(run) - 6) + run[-2:]  # like schemas.identifiers.mask_nik


class RedactingFilter(logging.Filter):
    """Redacts a record in place (message, traceback, stack) and stamps it with the
    ids of the current work; every handler of ours carries one."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # a malformed call: keep what there is, redacted
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        if not hasattr(record, "trace_id"):
            for name, value in log_ids().items():
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self._process = process

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "process": self._process,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("case_id", "correlation_id", "trace_id", "span_id"):
            entry[name] = getattr(record, name, None)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def text_formatter(process: str) -> logging.Formatter:
    return logging.Formatter(f"%(asctime)s {process} %(levelname)s %(name)s: %(message)s")


def setup_logging(process: str, *, level: str | int = "INFO", log_format: LogFormat = "text") -> logging.Handler:
    """The process's one handler (stderr) on the root logger, replacing any other:
    every logger of ours and of the libraries (uvicorn's too) writes through it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter(process) if log_format == "json" else text_formatter(process))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler

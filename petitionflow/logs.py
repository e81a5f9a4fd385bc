"""structlog, configured once per process: JSON lines in production, console in development."""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from typing import Literal, TextIO

import structlog
import structlog.tracebacks
import temporalio.activity
import temporalio.workflow


def _drop_color_message(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """uvicorn passes a coloured copy of its message as an extra field: one copy is enough."""
    event_dict.pop("color_message", None)
    return event_dict


PERSONAL_KEYS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "phone",
        "email",
        "address",
        "address_string",
        "description",
        "info",
        "comment",
        "note",
        "question",
        "contact",
        "petitioner",
        "text",
        "sms",
        "link",
        "token",
        "api_key",
        "authorization",
        "secret",
    }
)
"""Log fields that would carry a petitioner's words or contact, or a credential: never written.

No code logs them today (petition ids, actor roles and ids, services and codes are what the lines
carry); this is the net under a future ``log.info(..., phone=...)``."""
WITHHELD = "[withheld]"


def _scrub(value: object, depth: int) -> object:
    if isinstance(value, dict) and depth > 0:
        return {
            k: (WITHHELD if isinstance(k, str) and k.lower() in PERSONAL_KEYS else _scrub(v, depth - 1))
            for k, v in value.items()
        }
    return value


def drop_personal(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Drop the fields named in ``PERSONAL_KEYS`` from a line (and mask them in dicts it carries,
    two levels deep), whoever logged it: structlog, the standard library's ``extra``, Temporal."""
    for key in [k for k in event_dict if k.lower() in PERSONAL_KEYS]:
        del event_dict[key]
    for key, value in event_dict.items():
        if isinstance(value, dict):
            event_dict[key] = _scrub(value, 2)
    return event_dict


_listener: logging.handlers.QueueListener | None = None


class _Handoff(logging.handlers.QueueHandler):
    """Puts records on the writer thread's queue as they are: rendering them (stack traces too)
    and writing happen on that thread, never on the event loop's."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not isinstance(record.msg, dict):
            # A standard-library record (uvicorn's, Temporal's): carry this task's context (request
            # id …) along as extra fields, since the writer thread has none.
            for key, value in structlog.contextvars.get_contextvars().items():
                record.__dict__.setdefault(key, value)
        return record


def _exceptions(fmt: Literal["console", "json"]) -> list[structlog.types.Processor]:
    """A stack trace as data (JSON) or text (console), in both cases without local variables: a
    frame's locals carry request headers, API keys and tokens, and cost seconds to render."""
    if fmt == "console":
        return []  # the ConsoleRenderer's exception_formatter does it
    transformer = structlog.tracebacks.ExceptionDictTransformer(
        show_locals=False, max_frames=30, use_rich=False
    )
    return [structlog.processors.ExceptionRenderer(transformer)]


def configure(
    *, fmt: Literal["console", "json"] = "json", level: str = "info", stream: TextIO | None = None
) -> None:
    """Route structlog and the standard library's logging (Temporal's own) through one renderer,
    on a writer thread of its own (``stop`` drains it; it is stopped at exit).

    Args:
        stream: where lines go (default: ``sys.stderr`` as it is now).
    """
    global _listener
    stop()
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # ExtraAdder: the fields Temporal's loggers (and workflow.logger) pass as ``extra``.
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), _drop_color_message],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                drop_personal,
                *_exceptions(fmt),
                renderer,
            ],
        )
    )
    # Temporal's workflow and activity loggers put their context (workflow id, run id …) into
    # ``extra`` as well as into the message text: keep it as fields only.
    temporalio.workflow.logger.workflow_info_on_message = False
    temporalio.activity.logger.activity_info_on_message = False
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, handler)
    _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [_Handoff(records)]
    root.setLevel(level.upper())


def stop() -> None:
    """Write what is queued and stop the writer thread (``configure`` starts a new one)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


atexit.register(stop)

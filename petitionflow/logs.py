"""structlog, configured once per process: JSON lines in production, console in development."""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog
import temporalio.activity
import temporalio.workflow


def _drop_color_message(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """uvicorn passes a coloured copy of its message as an extra field: one copy is enough."""
    event_dict.pop("color_message", None)
    return event_dict


def configure(*, fmt: Literal["console", "json"] = "json", level: str = "info") -> None:
    """Route structlog and the standard library's logging (Temporal's own) through one renderer."""
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # ExtraAdder: the fields Temporal's loggers (and workflow.logger) pass as ``extra``.
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), _drop_color_message],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    # Temporal's workflow and activity loggers put their context (workflow id, run id …) into
    # ``extra`` as well as into the message text: keep it as fields only.
    temporalio.workflow.logger.workflow_info_on_message = False
    temporalio.activity.logger.activity_info_on_message = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())

"""The one data converter: how every payload crosses Temporal (client, worker, replayer, audit, tests).

Every part that turns payloads into values, or back, takes its converter from here, so a payload
codec (encryption) plugs in at exactly this spot and nowhere else.
"""

from __future__ import annotations

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter


def data_converter() -> DataConverter:
    """The converter for petitionflow's pydantic contracts."""
    return pydantic_data_converter

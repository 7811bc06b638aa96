"""``python -m tests.fakes [PORT]``: serve the fake upstream until interrupted (for the benchmark)."""

from tests.fakes.upstream import main

main()

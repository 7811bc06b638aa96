"""End-to-end tests: a running proxy (or two) against the fake upstream. A package, so that module names
may repeat those of tests/unit (test_continuity, test_affinity)."""

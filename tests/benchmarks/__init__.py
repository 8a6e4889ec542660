"""Benchmarks (`make bench`): intake, delivery and scale, measured side by side; not part of `make test`."""

"""Benchmark helpers run by `make bench` (tests/src/bin/bench.rs) against the stand-in."""

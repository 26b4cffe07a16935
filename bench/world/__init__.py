"""The generated GitHub world that tests and benchmarks run against (`python -m bench.world.build`)."""

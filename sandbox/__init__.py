"""A local stand-in for Callbell's contacts API, with fault injection, for trials, tests and benchmarks."""

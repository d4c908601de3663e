"""Speed and memory benchmarks against peer libraries (not part of pytest). See benchmarks/README.md."""

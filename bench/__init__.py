"""Benchmarks (run from the repo root: ``.venv/bin/python bench/run_all.py``); see bench/README.md."""

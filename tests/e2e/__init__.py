"""Browser end-to-end tests (run on their own: `pytest tests/e2e`)."""

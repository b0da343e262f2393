"""Data-quality suites (Great Expectations) over what the pipelines stored."""

"""Runs a Great Expectations suite on a frame and reports the outcome in plain terms.

One ephemeral context per process (importing and configuring GE costs seconds); progress
bars are off because these run inside pipelines, not at a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd


@dataclass
class QualityResult:
    suite: str
    success: bool
    rows: int
    failures: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1)
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.data_sources.add_pandas("luna")
    return context


def validate(suite_name: str, frame: pd.DataFrame, expectations: list[Any]) -> QualityResult:
    """``expectations``: instances of ``great_expectations.expectations.*``."""
    import great_expectations as gx

    context = _context()
    source = context.data_sources.get("luna")
    try:
        asset = source.get_asset(suite_name)
        batch = asset.get_batch_definition(suite_name)
    except (LookupError, KeyError):
        asset = source.add_dataframe_asset(suite_name)
        batch = asset.add_batch_definition_whole_dataframe(suite_name)
    # The same name each time: the context keeps one suite per check, not one per run.
    suite = context.suites.add_or_update(gx.ExpectationSuite(name=suite_name, expectations=expectations))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
    )
    run = definition.run(batch_parameters={"dataframe": frame})
    failures = []
    details: dict[str, Any] = {}
    for outcome in run.results:
        config = outcome.expectation_config
        label = f"{config.type}({config.kwargs.get('column', '')})"
        details[label] = {
            "success": outcome.success,
            "unexpected_count": outcome.result.get("unexpected_count"),
            "observed_value": _plain(outcome.result.get("observed_value")),
        }
        if not outcome.success:
            examples = outcome.result.get("partial_unexpected_list") or outcome.result.get("observed_value")
            failures.append(f"{label}: unexpected {_plain(examples)}")
    return QualityResult(suite=suite_name, success=run.success, rows=len(frame), failures=failures, details=details)


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value[:5]]
    if hasattr(value, "item"):
        return value.item()
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)

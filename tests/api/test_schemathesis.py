"""Property-based tests over the app's own OpenAPI schema: every documented operation, every
built-in check (no 5xx, responses match their declared schema, ...), a bounded number of examples.

The schema is loaded at import (``schemathesis.pytest.from_fixture`` does not work with this
pytest), so the app points at an empty directory that a fixture fills with the trained
checkpoints before the tests run; the registry rescans on every request.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from .conftest import make_app

pytestmark = pytest.mark.slow

CHECKPOINTS = Path(tempfile.mkdtemp(prefix="attnviz-schemathesis-"))
# training from the page is fuzzed too, with jobs kept tiny (one epoch of 100 examples, d_model ≤ 16)
app = make_app(CHECKPOINTS, training_max_epochs=1, training_max_layers=1, training_max_d_model=16, training_examples=100)
# A schema-valid text can still be refused with 422 for reasons that depend on the chosen
# checkpoint (its vocabulary, its length limit), which a JSON schema cannot state.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]}}}
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


@pytest.fixture(scope="module", autouse=True)
def _checkpoints(trained_dir: Path) -> Iterator[None]:
    shutil.copytree(trained_dir, CHECKPOINTS, dirs_exist_ok=True)
    yield
    shutil.rmtree(CHECKPOINTS, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
    case.call_and_validate()

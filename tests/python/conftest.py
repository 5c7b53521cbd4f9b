"""Fixtures of the Python package's tests: the embedded demo hub, loaded once per session."""

import os
import shutil
from pathlib import Path

import pytest

try:
    import lorahub
except ImportError:  # tests that need only the CLI (test_gguf_export.py) run without the package
    lorahub = None

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def hub():
    if lorahub is None:
        pytest.skip("the lorahub package is not installed")
    return lorahub.demo_hub(REPOSITORY / "examples" / "demo-hub")


@pytest.fixture(scope="session")
def model(hub):
    return lorahub.load_model(hub.model)


@pytest.fixture(scope="session")
def pool(model, hub):
    return lorahub.load_pool(model, hub.modules)


@pytest.fixture(scope="session")
def few_shot(hub):
    return hub.task().few_shot()


@pytest.fixture(scope="session")
def cli():
    """The lorahub CLI of this tree's build: $LORAHUB_CLI (scripts/test.sh sets it), else build/test's."""
    path = os.environ.get("LORAHUB_CLI") or shutil.which("lorahub", path=str(REPOSITORY / "build" / "test" / "examples"))
    if not path or not Path(path).is_file():
        pytest.skip("no lorahub CLI built (set LORAHUB_CLI): the parity tests compare with it")
    return path

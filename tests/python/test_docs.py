"""The Python code of the README and of docs/python.md runs as written (each file's blocks in order)."""

import re

import pytest

from conftest import REPOSITORY


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("document", ["README.md", "docs/python.md"])
def test_the_documents_python_runs(document, tmp_path, monkeypatch, capsys):
    blocks = python_blocks(REPOSITORY / document)
    assert blocks, f"{document} has no python block"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{document}, python block {number}", "exec"), namespace)

"""Every GraphQL example of the README returns data from a live server (issue: first run)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.support.paths import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()


def _curl_examples() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    commands = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        commands += [
            line.strip() for line in joined.splitlines() if line.strip().startswith("curl ") and "/graphql" in line
        ]
    return commands


def _graphiql_examples() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README, flags=re.S)


def test_readme_has_examples():
    assert len(_curl_examples()) >= 5
    assert _graphiql_examples()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("index", range(len(_curl_examples())))
def test_curl_example_returns_data(api_sqlite, index):
    command = _curl_examples()[index].replace("http://127.0.0.1:8000", api_sqlite.url.rsplit("/graphql", 1)[0])
    out = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PCS_ADMIN_TOKEN": api_sqlite.admin},
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert "errors" not in body, body
    assert body["data"] and all(v is not None for v in body["data"].values()), body


@pytest.mark.parametrize("index", range(len(_graphiql_examples())))
def test_graphiql_example_returns_data(api_sqlite, index):
    body = api_sqlite.client.execute(_graphiql_examples()[index])
    assert "errors" not in body, body
    assert body["data"]["partner"] is not None

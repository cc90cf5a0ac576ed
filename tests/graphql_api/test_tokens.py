"""`pcs token` and `pcs serve` (real databases: SQLite and PostgreSQL via tests/conftest.py)."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time

import httpx
import sqlalchemy as sa

from pcs.cli import main
from pcs.cli import serve as server
from storage import models as M
from storage import tokens
from storage.engines import get_engine
from tests.support.paths import PROJECT_ROOT


def _add_partner(url: str, partner_id: str) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(sa.insert(M.Partner.__table__).values(partner_id=partner_id, partner_name="X", in_registry=True))


def test_token_create_list_revoke(db_url, capsys):
    _add_partner(db_url, "P1")
    assert main(["token", "create", "--partner", "P1", "--label", "dashboard", "--database-url", db_url]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("pcs_") and len(token) == 4 + 43 and "\n" not in token
    assert "shown only once" in err
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(sa.select(M.ApiToken.__table__)).mappings().all()
        assert tokens.lookup_token(conn, token) == (rows[0]["id"], "P1")
        assert tokens.lookup_token(conn, token + "x") is None
    assert len(rows) == 1
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(dict(rows[0]))  # only the hash is stored

    assert main(["token", "list", "--database-url", db_url]) == 0
    listing, _ = capsys.readouterr()
    assert "P1" in listing and "dashboard" in listing
    assert token not in listing and rows[0]["token_hash"] not in listing

    token_id = str(rows[0]["id"])
    assert main(["token", "revoke", token_id, "--database-url", db_url]) == 0
    assert main(["token", "revoke", token_id, "--database-url", db_url]) == 1
    assert "no active token" in capsys.readouterr().err
    with get_engine(db_url).connect() as conn:
        assert tokens.lookup_token(conn, token) is None
    assert main(["token", "list", "--active", "--database-url", db_url]) == 0
    assert "P1" not in capsys.readouterr().out


def test_token_for_an_unknown_partner_needs_allow_unknown(db_url, capsys):
    assert main(["token", "create", "--partner", "NOPE", "--database-url", db_url]) == 2
    assert "unknown partner 'NOPE'" in capsys.readouterr().err
    assert main(["token", "create", "--partner", "NOPE", "--allow-unknown", "--database-url", db_url]) == 0
    assert capsys.readouterr().out.startswith("pcs_")


def test_token_commands_need_a_migrated_database(empty_db_url, capsys):
    assert main(["token", "list", "--database-url", empty_db_url]) == 2
    assert "pcs migrate" in capsys.readouterr().err


def test_serve_arguments_and_unmigrated_database(empty_db_url, capsys):
    import argparse

    parser = argparse.ArgumentParser()
    server.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.workers) == ("127.0.0.1", 8000, 1)
    assert main(["serve", "--database-url", empty_db_url, "--port", "1"]) == 2
    assert "pcs migrate" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pcs_serve_with_two_workers(api_sqlite):
    """The real command line: `pcs serve --workers 2` in a subprocess, over the example database."""
    port = _free_port()
    env = {**os.environ, "PCS_DATABASE_URL": api_sqlite.db_url, "PCS_ADMIN_TOKEN": "serve-admin"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pcs.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "pcs serve did not start"
            time.sleep(0.2)
        for _ in range(4):  # several connections: both workers answer the same
            r = httpx.post(
                f"{url}/graphql", json={"query": "{ months }"}, headers={"Authorization": "Bearer serve-admin"}
            )
            assert r.status_code == 200 and len(r.json()["data"]["months"]) == 12
        assert httpx.post(f"{url}/graphql", json={"query": "{ months }"}).status_code == 401
        partner = httpx.post(
            f"{url}/graphql",
            json={"query": "{ viewer { partnerId } }"},
            headers={"Authorization": f"Bearer {api_sqlite.tokens['P000001']}"},
        )
        assert partner.json()["data"]["viewer"]["partnerId"] == "P000001"
        assert "GraphiQL" in httpx.get(f"{url}/graphql", headers={"Accept": "text/html"}).text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

"""``pcs webhook add|list|remove|deliveries|deliver`` through ``pcs.cli.main``, on SQLite and
PostgreSQL, and the README's webhook section run as written (its commands against the example
data and a local receiver, its signature check against a delivered request)."""

from __future__ import annotations

import datetime as dt
import re
import shlex

import polars as pl
import pytest

from pcs import cli
from scoring import events as E
from storage import webhooks as W
from storage.engines import get_engine
from tests.support.inputs import EXAMPLE
from tests.support.paths import PROJECT_ROOT
from tests.support.webhook_receiver import receiver

README = (PROJECT_ROOT / "README.md").read_text()
SECTION = README.split("## Alerts by webhook", 1)[1].split("\n## ", 1)[0]
JUN = dt.date(2024, 6, 1)


def pcs(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_add_list_remove_and_deliveries(db_url, capsys):
    db = ["--database-url", db_url]
    code, out, _ = pcs(capsys, "webhook", "add", "--url", "https://example.test/a", "--secret", "hush-hush", *db)
    assert code == 0 and out.strip() == "1"
    code, out, _ = pcs(
        capsys,
        "webhook",
        "add",
        "--url",
        "https://example.test/p",
        "--secret",
        "s",
        "--partner",
        "P1",
        "--allow-unknown",
        "--events",
        "designation.lost,certification.expiring",
        *db,
    )
    assert code == 0 and out.strip() == "2"
    code, out, _ = pcs(capsys, "webhook", "list", *db)
    assert code == 0
    assert re.search(r"\| 1 +\| https://example.test/a +\| \(admin\) +\| all ", out)
    assert re.search(r"\| 2 +\| https://example.test/p +\| P1 +\| designation.lost,certification.expiring ", out)
    assert "hush-hush" not in out  # secrets are never listed

    events = pl.DataFrame(
        [
            (
                E.event_id(E.DESIGNATION_LOST, "P1", JUN, "designation"),
                E.DESIGNATION_LOST,
                JUN,
                "P1",
                "designation",
                "{}",
            )
        ],
        schema=E.EVENTS_SCHEMA,
        orient="row",
    )
    W.record_events(get_engine(db_url), events=events)
    code, out, _ = pcs(capsys, "webhook", "deliveries", *db)
    assert code == 0 and out.count("| designation.lost ") == 2 and "pending" in out
    code, out, _ = pcs(capsys, "webhook", "deliveries", "--failed", *db)
    assert code == 0 and "designation.lost" not in out

    assert pcs(capsys, "webhook", "remove", "2", *db)[:2] == (0, "removed subscription 2\n")
    code, _, err = pcs(capsys, "webhook", "remove", "2", *db)
    assert code == 1 and "no active subscription with id 2" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "not a url", "--secret", "s"], "bad URL 'not a url'"),
        (["--url", "https://x.test", "--secret", "s", "--events", "designation.won"], "unknown event type(s)"),
        (["--url", "https://x.test", "--secret", "s", "--partner", "P404"], "unknown partner 'P404'"),
        (["--url", "https://x.test", "--secret", ""], "secret must not be empty"),
    ],
)
def test_add_refuses_bad_input(db_url, capsys, args, message):
    code, out, err = pcs(capsys, "webhook", "add", *args, "--database-url", db_url)
    assert code == 2 and out == ""
    assert "pcs webhook add: " in err and message in err
    assert W.list_subscriptions(get_engine(db_url)) == []


def test_an_unmigrated_database_is_refused(tmp_path, capsys):
    code, _, err = pcs(capsys, "webhook", "list", "--database-url", f"sqlite:///{tmp_path / 'new.sqlite'}")
    assert code == 2 and "run `pcs migrate` first" in err


# ---- the README section ------------------------------------------------------------------------


def _commands() -> list[str]:
    (block,) = re.findall(r"```sh\n(.*?)```", SECTION, flags=re.S)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_section_lists_every_command():
    commands = " ".join(_commands())
    for sub in ("add", "list", "remove", "deliveries", "deliver"):
        assert f"pcs webhook {sub}" in commands


@pytest.mark.skipif(not EXAMPLE.exists(), reason="shared/examples/small is missing")
def test_readme_webhook_section_runs_as_written(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'pcs.sqlite'}"
    monkeypatch.setenv("PCS_DATABASE_URL", url)
    monkeypatch.setenv("PCS_DATA_DIR", str(EXAMPLE))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text((PROJECT_ROOT / "orchestration/dagster.yaml").read_text())
    with receiver() as rx:
        for command in _commands():
            command = command.replace("http://127.0.0.1:9000", rx.url)
            words = shlex.split(command)
            assert words[:3] == ["uv", "run", "pcs"], command
            code, out, err = pcs(capsys, *words[3:])
            assert code == 0, (command, out, err)
            if words[3:5] == ["webhook", "deliver"]:
                assert "delivered" in out and "pending" not in out
        engine = get_engine(url)
        outbox = W.read_events(engine)
        assert outbox.height > 0
        assert sorted(r.json["id"] for r in rx.to("/pcs")) == sorted(outbox["id"])
        partner = outbox.filter(
            (pl.col("partner_id") == "P000003") & pl.col("type").is_in(["certification.expiring", "designation.lost"])
        )
        assert partner.height > 0
        assert sorted(r.json["id"] for r in rx.to("/p3")) == sorted(partner["id"])
        assert [s.active for s in W.list_subscriptions(engine)] == [True, False]

        # the README's signature check accepts a delivered request and nothing else
        (snippet,) = re.findall(r"```python\n(.*?)```", SECTION, flags=re.S)
        scope: dict = {}
        exec(snippet, scope)
        got = rx.to("/pcs")[0]
        assert scope["signed"]("s3cret", got.body, got.headers["X-PCS-Signature"])
        assert not scope["signed"]("other", got.body, got.headers["X-PCS-Signature"])
        assert not scope["signed"]("s3cret", got.body + b" ", got.headers["X-PCS-Signature"])

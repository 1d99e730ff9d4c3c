"""`auditor serve` over PostgreSQL: the same pages and an acknowledgement, over real runs of the demo
shop recorded there by `auditor run` (skips without AUDITOR_TEST_POSTGRES_URL)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import create_engine, text

from auditor.demo import DemoShop, parse_faults
from tests.web.dashboard_server import ADMIN, auditor, serve
from tests.web.test_api_support import database
from tests.web.test_dashboard import Store, _run_id, _session


def test_the_pages_and_an_acknowledgement_on_postgresql(tmp_path: Path) -> None:
    with (
        database("postgresql", tmp_path) as url,
        DemoShop(faults=parse_faults(["dead-link"], environ={})) as shop,
    ):
        (tmp_path / "auditor.toml").write_text(
            f'database_url = "{url}"\n[sites.demo]\nbase_url = "{shop.base_url}"\n'
            '[checks.links]\nkind = "crawl"\nexternal = false\n[audits.nightly]\nchecks = ["links"]\n',
            encoding="utf-8",
        )
        done = auditor(tmp_path, "run", "nightly", "-q")
        assert done.returncode == 1, done.stdout + done.stderr
        run_id = _run_id(done.stdout + done.stderr)
        added = auditor(
            tmp_path, "user", "add", ADMIN[0], "--role", "admin", "--password-stdin", stdin=ADMIN[1]
        )
        assert added.returncode == 0, added.stderr
        with serve(tmp_path) as dash:
            http, _ = _session(Store(dash, [run_id], ""), ADMIN)
            try:
                for path, expected in (
                    ("/", "demo"),
                    ("/sites/demo", run_id),
                    (f"/runs/{run_id}", f"/runs/{run_id}/report/"),
                    (f"/runs/{run_id}/report/", "/shipping-policy"),
                    ("/incidents", "/shipping-policy"),
                ):
                    got = http.get(path)
                    assert got.status_code == 200 and expected in got.text, (path, got.status_code)
                page = http.get("/incidents").text
                incident = re.search(r'id="incident-(\d+)"', page)
                token = re.search(r'name="csrf" value="([^"]+)"', page)
                assert incident and token
                got = http.post(
                    f"/incidents/{incident.group(1)}/note",
                    data={"action": "mute", "hours": "2", "note": "deploy tonight", "csrf": token.group(1)},
                )
                assert got.status_code == 303
                assert "deploy tonight" in http.get("/incidents?state=acknowledged").text
            finally:
                http.close()
            logs = "".join(p.read_text() for p in tmp_path.glob("serve-*.log"))
        engine = create_engine(url)
        try:
            with engine.connect() as c:
                [(action, until_set)] = list(
                    c.execute(text("SELECT action, until IS NOT NULL FROM incident_notes"))
                )
        finally:
            engine.dispose()
    assert (action, until_set) == ("mute", True)
    assert "Traceback" not in logs, logs[-3000:]

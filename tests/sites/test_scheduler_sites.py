"""The scheduler runs a template audit for each of its sites, one after another, each its own run,
with that site's check overrides."""

from __future__ import annotations

from pathlib import Path

from auditor import config
from auditor.results import RunStatus
from auditor.scheduler.heartbeat import Heartbeat
from auditor.scheduler.service import AuditScheduler
from auditor.store import Store
from tests.scheduler.conftest import store  # noqa: F401
from tests.scheduler.helpers import fast


async def test_a_scheduled_template_audit_runs_once_per_site(tmp_path: Path, store: Store) -> None:  # noqa: F811
    settings = config.from_dict(
        {
            "database_url": f"sqlite:///{tmp_path / 'runs.db'}",
            "report_dir": str(tmp_path / "reports"),
            "sites": {
                "shop-a": {"base_url": "http://127.0.0.1:9", "tags": ["eu"]},
                "shop-b": {
                    "base_url": "http://127.0.0.1:8",
                    "tags": ["eu"],
                    "overrides": {"held": {"broken": True}},
                },
                "shop-c": {"base_url": "http://127.0.0.1:7", "tags": ["us"]},
            },
            "checks": {"held": {"kind": "test-held"}},
            "audits": {"nightly": {"checks": ["held"], "schedule": "0 3 * * *", "sites": {"tag": "eu"}}},
        },
        environ={},
    )
    async with Heartbeat(None) as hb:
        scheduler = AuditScheduler(settings, fast(), store, hb)
        scheduler.start()
        task = scheduler.fire("nightly", "test")
        assert task is not None
        worst = await task
        await scheduler.stop(5)
    runs = store.recent_runs(audit="nightly")
    assert sorted((r.site, r.status) for r in runs) == [("shop-a", "pass"), ("shop-b", "fail")]
    assert worst is not None and (worst.site, worst.status) == ("shop-b", RunStatus.FAIL)
    assert len({r.id for r in runs}) == 2

"""Alerts: incidents from findings, and messages about them through Apprise channels.

    config.py   AlertsConfig, the `[alerts]` section (channels, thresholds, maintenance windows)
    policy.py   the pure rules: previous incidents + a run + the clock -> new / reminder / resolved
    message.py  the text of a message (what, where, since when, failing step, report link)
    send.py     one message to one Apprise URL; failures are returned, never raised
    process.py  process_run(): policy, store and sending after each run (notify_after_run: never raises)
    views.py    text for `auditor runs`, `auditor show` and `auditor incidents`

The names load on first use, so `auditor.config` can import the `[alerts]` model without pulling in
Apprise and the database layer at every start of the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.alerts.config import AlertsConfig, ChannelConfig, CheckAlertPolicy, MaintenanceWindow
    from auditor.alerts.policy import Event
    from auditor.alerts.process import notify_after_run, process_run
    from auditor.alerts.views import format_incidents, format_run, format_runs
    from auditor.store.incidents import Incident, Notification

_HOMES = {
    "auditor.alerts.config": ("AlertsConfig", "ChannelConfig", "CheckAlertPolicy", "MaintenanceWindow"),
    "auditor.alerts.policy": ("Event",),
    "auditor.alerts.process": ("notify_after_run", "process_run"),
    "auditor.alerts.views": ("format_incidents", "format_run", "format_runs"),
    "auditor.store.incidents": ("Incident", "Notification"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "AlertsConfig",
    "ChannelConfig",
    "CheckAlertPolicy",
    "Event",
    "Incident",
    "MaintenanceWindow",
    "Notification",
    "format_incidents",
    "format_run",
    "format_runs",
    "notify_after_run",
    "process_run",
]


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'auditor.alerts' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

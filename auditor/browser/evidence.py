"""A scenario's evidence reaches the report folder only once it is scrubbed.

A scenario (and auditor's own failure handling) writes its files into a private temporary folder;
`publish` then writes a scrubbed copy of each into the check's report folder: the Playwright trace
with every member rewritten, the failed page made inert (no scripts) with its secrets masked, JSON
logs with header and cookie values masked, any other text with every secret masked. Screenshots are
copied as they are. A file that cannot be scrubbed is left out (with a warning), never copied raw.
Whatever happens, the temporary folder is removed.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from auditor.browser.inert import inert_html
from auditor.results import Artifact
from auditor.scrub import Scrubber, copy_file, write_atomically

log = logging.getLogger("auditor.browser")

_PICTURES = (".png", ".jpg", ".jpeg", ".webp", ".gif")


class Evidence:
    """`with Evidence(report_dir, scrubber) as ev:` run the scenario with `artifact_dir=ev.dir`, then
    `artifacts = await ev.publish(outcome.artifacts)`."""

    def __init__(self, report_dir: Path, scrubber: Scrubber) -> None:
        self.report_dir = report_dir
        self.scrubber = scrubber
        self.dir = Path(tempfile.mkdtemp(prefix="auditor-evidence-"))

    def __enter__(self) -> Evidence:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    async def publish(self, artifacts: list[Artifact]) -> list[Artifact]:
        """Scrubbed copies of `artifacts` in the report folder (scrubbing a trace of megabytes takes
        a moment: it runs in a thread)."""
        return await asyncio.to_thread(self.publish_now, artifacts)

    def publish_now(self, artifacts: list[Artifact]) -> list[Artifact]:
        published = []
        for artifact in artifacts:
            src = artifact.path
            try:
                relative = src.resolve().relative_to(self.dir.resolve())
            except ValueError:
                relative = Path(src.name)
            dst = self.report_dir / relative
            try:
                self._write(artifact, src, dst)
            except Exception as e:
                log.warning(
                    "left %s out of the report: it could not be scrubbed of secrets (%s: %s)",
                    artifact.name,
                    type(e).__name__,
                    e,
                )
                continue
            published.append(Artifact(name=artifact.name, path=dst, kind=artifact.kind))
        return published

    def _write(self, artifact: Artifact, src: Path, dst: Path) -> None:
        s = self.scrubber
        name = src.name.lower()
        if artifact.kind == "trace" or name.endswith(".zip"):
            s.trace(src, dst)
        elif artifact.kind == "screenshot" or name.endswith(_PICTURES):
            copy_file(src, dst)
        elif name.endswith((".html", ".htm")):
            page = inert_html(s.text(src.read_text(encoding="utf-8", errors="replace")))
            write_atomically(dst, lambda tmp: tmp.write_text(page, encoding="utf-8"))
        elif name.endswith(".json"):
            data = s.json_text(src.read_text(encoding="utf-8", errors="replace"))
            write_atomically(dst, lambda tmp: tmp.write_text(data, encoding="utf-8"))
        else:
            raw = s.raw(src.read_bytes())
            write_atomically(dst, lambda tmp: tmp.write_bytes(raw))

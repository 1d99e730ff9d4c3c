"""Settings shared by the whole suite."""

from __future__ import annotations

from hypothesis import settings

# Property tests pin behaviour, never speed: on a busy 2-core machine one example can take 10x its
# usual time, and hypothesis's per-example deadline would then fail a correct test.
settings.register_profile("auditor", deadline=None, print_blob=True)
settings.load_profile("auditor")

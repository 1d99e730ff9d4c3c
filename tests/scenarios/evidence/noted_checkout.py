"""The bundled guest checkout, noting the password it types in a file the test names, so the test
can look for that password everywhere auditor writes (the outputs hold only a mask)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from auditor import scenario
from auditor.scenarios import Customer, bundled_dir, load_dirs

GUEST_CHECKOUT = load_dirs([bundled_dir()])["guest-checkout"]


@scenario("noted-checkout", places_order=True, description="guest-checkout, noting the typed password.")
async def noted_checkout(
    page: Any, context: Any, site: Any, customer: Customer, outputs: dict, step: Any, card: Any
) -> None:
    note = Path(os.environ["AUDITOR_TEST_PASSWORD_FILE"])
    await asyncio.to_thread(note.write_text, customer.password, encoding="utf-8")
    await GUEST_CHECKOUT.func(
        page=page, context=context, site=site, customer=customer, outputs=outputs, step=step, card=card
    )

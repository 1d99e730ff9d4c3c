"""Each finding says how to see it again: curl lines, the scenario command, the trace, the email."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.report import render_html, render_markdown, write_reports
from auditor.report.reproduce import curl
from auditor.results import Artifact, CheckResult, Finding, Severity

from .runs import BASE, make_run

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/work/auditor/scenarios/run.py", line 201, in _step\n'
    "    await page.click('#pay')\n"
    "playwright._impl._errors.TimeoutError: Page.click: Timeout 30000ms exceeded."
)
HOSTILE = ["'", '"', " ", "$(touch /tmp/pwned)", "`id`", "\n", ";", "&", "|", "\\", "{token}", "[1-2]", "*"]


def link(url: str, method: str = "HEAD", source: str = f"{BASE}/") -> Finding:
    return Finding(
        kind="broken_link",
        severity=Severity.ERROR,
        url=url,
        message=f"Link {url} is dead: HTTP 404.",
        source=source,
        element="a[href]",
        evidence={"status": 404, "verdict": "broken", "method": method},
    )


def scenario_failure(places_order: bool) -> Finding:
    return Finding(
        kind="scenario_failed",
        severity=Severity.ERROR,
        url=f"{BASE}/checkout",
        message="guest-checkout failed at step 'pay': Page.click: Timeout 30000ms exceeded.",
        evidence={
            "scenario": "guest-checkout",
            "step": "pay",
            "error": TRACEBACK,
            "file": "/srv/shop tests/scenarios/checkout.py:12",
            "payment_submitted": False,
            "places_order": places_order,
        },
        key="pay",
    )


def _reproduce(html: str) -> list[str]:
    """The shell commands in the report, unescaped as a browser shows them."""
    import html as h
    import re

    return [h.unescape(c) for c in re.findall(r'<pre class="command"><code>(.*?)</code></pre>', html, re.S)]


url_text = st.lists(
    st.one_of(
        st.sampled_from(HOSTILE), st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
    ),
    max_size=12,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(path=url_text, get=st.booleans())
def test_a_curl_line_is_one_literal_url_argument_whatever_the_url_holds(path: str, get: bool) -> None:
    url = f"{BASE}/{path}"
    argv = shlex.split(curl(url, "GET" if get else "HEAD"))
    assert argv[-1] == url
    assert argv[0] == "curl"
    if get:
        assert argv[1:-1] == [
            "-sS",
            *(["--globoff"] if set("[]{}") & set(url) else []),
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}\\n",
        ]
    else:
        assert argv[1:-1] == ["-sSI", *(["--globoff"] if set("[]{}") & set(url) else [])]


@settings(max_examples=50, deadline=None)
@given(path=url_text)
def test_report_html_shows_a_hostile_url_as_a_command_that_runs_curl_on_it_alone(path: str) -> None:
    url = f"{BASE}/{path}"
    run = make_run([CheckResult(name="links", kind="crawl", findings=[link(url)])])
    [command] = _reproduce(render_html(run))
    # The runner masks nothing here, so the URL shown is the URL requested.
    assert shlex.split(command)[-1] == run.findings[0].evidence.get("url", url)


def test_a_dead_link_is_reproduced_with_curl_and_the_page_it_is_on() -> None:
    run = make_run([CheckResult(name="links", kind="crawl", findings=[link(f"{BASE}/it's gone")])])
    html = render_html(run)
    assert _reproduce(html) == [f"curl -sSI '{BASE}/it'\"'\"'s gone'"]
    assert f"It is linked from {BASE}/ (a[href])" in html
    data = json.loads(write_reports(run, run.report_dir or Path("/tmp/unused-report"))["json"].read_text())
    assert data["findings"][0]["reproduce"] == [f"curl -sSI '{BASE}/it'\"'\"'s gone'"]


def test_a_link_judged_by_get_is_reproduced_with_its_status_code() -> None:
    run = make_run([CheckResult(name="links", kind="crawl", findings=[link(f"{BASE}/x", "GET")])])
    assert _reproduce(render_html(run)) == [f"curl -sS -o /dev/null -w '%{{http_code}}\\n' {BASE}/x"]


def test_a_masked_url_is_reproduced_with_the_url_that_was_requested() -> None:
    f = link(f"{BASE}/download/ord-77125/file.pdf").finalize("links", BASE, ["ord-77125"])
    assert f.url == f"{BASE}/download/{{token}}/file.pdf"
    run = make_run([CheckResult(name="links", kind="crawl", findings=[f])])
    assert _reproduce(render_html(run)) == [f"curl -sSI {BASE}/download/ord-77125/file.pdf"]


def test_a_failed_scenario_is_rerun_by_name_with_allow_orders_only_when_it_places_orders(
    tmp_path: Path,
) -> None:
    trace = tmp_path / "run-1" / "guest-checkout" / "trace.zip"
    for places in (True, False):
        check = CheckResult(
            name="guest-checkout",
            kind="scenario",
            findings=[scenario_failure(places)],
            artifacts=[Artifact("trace.zip", trace, "trace")],
        )
        run = make_run([check])
        run.report_dir = tmp_path / "run-1"
        orders = " --allow-orders" if places else ""
        assert _reproduce(render_html(run)) == [
            f"auditor scenario run guest-checkout --base-url {BASE} "
            f"--scenarios '/srv/shop tests/scenarios'{orders}",
            "playwright show-trace guest-checkout/trace.zip",
        ]


def test_a_traceback_is_folded_away_in_html_and_left_out_of_the_summary() -> None:
    run = make_run([CheckResult(name="guest-checkout", kind="scenario", findings=[scenario_failure(True)])])
    html = render_html(run)
    message = html.index("failed at step &#39;pay&#39;: Page.click: Timeout 30000ms exceeded.")
    folded = html.index("<summary>Technical details (Python traceback)</summary><pre>Traceback")
    assert message < folded
    assert html.count("Traceback (most recent call last)") == 1
    assert "Traceback" not in render_markdown(run)


def test_an_email_finding_shows_the_email_with_each_link_and_its_status() -> None:
    email = {
        "subject": "Your order 1042 <b>",
        "from": "shop@demo.example",
        "received_at": "2026-11-23T03:00:41+00:00",
        "text": "Thanks for your order!\nDownload: http://127.0.0.1:8000/dl/1\n" + "x" * 5000,
        "text_cut": 120,
        "links": [
            {"url": f"{BASE}/dl/1", "text": "Download", "verdict": "broken", "status": 404},
            {"url": f"{BASE}/account", "text": "Your account", "verdict": "ok", "status": 200},
        ],
    }
    finding = Finding(
        kind="email_broken_link",
        severity=Severity.ERROR,
        url=f"{BASE}/dl/1",
        message="The order-confirmation email's link 'Download' is dead: HTTP 404.",
        element="email order-confirmation",
        source=f"{BASE}/thank-you",
        evidence={"message": "order-confirmation", "status": 404, "verdict": "broken", "email": email},
    )
    html = render_html(make_run([CheckResult(name="order-email", kind="email", findings=[finding])]))
    assert "<dt>Subject</dt><dd>Your order 1042 &lt;b&gt;</dd>" in html
    assert "<dt>From</dt><dd>shop@demo.example</dd>" in html
    assert "<dt>Received</dt><dd>2026-11-23T03:00:41+00:00</dd>" in html
    assert "Thanks for your order!\nDownload: http://127.0.0.1:8000/dl/1\n" in html
    assert "and 1180 more characters of text" in html  # 5060 - 4000 shown here, and 120 cut before
    assert (
        f'<a class="url" href="{BASE}/dl/1">{BASE}/dl/1</a></td><td>Download</td><td>404 (broken)</td>'
        in html
    )
    assert "<td>Your account</td><td>200</td>" in html
    assert _reproduce(html) == [f"curl -sSI {BASE}/dl/1"]
    assert "It is a link in the order-confirmation email (shown here)" in html


def test_an_email_in_evidence_of_any_shape_never_breaks_the_report() -> None:
    for email in [
        "text",
        3,
        {"links": "no"},
        {"links": [1, None, {"url": 5}]},
        {"subject": None, "text": ["a"]},
    ]:
        f = Finding(
            kind="email_merge_tag",
            severity=Severity.ERROR,
            url=BASE,
            message="placeholder",
            evidence={"message": "m", "email": email},
        )
        assert "placeholder" in render_html(make_run([CheckResult(name="e", kind="email", findings=[f])]))

"""The dashboard in a real Chromium, against `auditor serve` as a subprocess over real runs of the
demo shop: logging in, the overview, a site's history, a run's report and trace, acknowledging an
incident, "run now" watched to its end, what a viewer of one client cannot reach, CSRF and cookie
flags, and an axe-core scan of every page."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from auditor.browser.locate import LAUNCH_ARGS, find_chromium
from auditor.config import SettingsModel, SiteConfig
from auditor.demo import DemoShop, parse_faults
from auditor.store import Store as AuditorStore
from auditor.web import auth
from tests.web.dashboard_server import ADMIN, VIEWER, Dashboard, auditor, serve

# Sites with a client (the sites helper's `client` key); without it, the cross-client tests skip.
HAS_CLIENTS = "client" in SiteConfig.model_fields


@dataclass
class Store:
    dash: Dashboard
    demo_runs: list[str]
    other_run: str

    @property
    def url(self) -> str:
        return self.dash.url

    def rows(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.dash.folder / "auditor.db") as db:
            return list(db.execute(sql, args))


def _config(base_url: str) -> str:
    acme = '\nclient = "acme"\ntags = ["shop"]' if HAS_CLIENTS else ""
    globex = '\nclient = "globex"' if HAS_CLIENTS else ""
    clients = "[clients.acme]\n[clients.globex]\n" if "clients" in SettingsModel.model_fields else ""
    return f"""
database_url = "sqlite:///auditor.db"
report_dir = "reports"
{clients}

[sites.demo]
base_url = "{base_url}"
allow_orders = true{acme}

[sites.other]
base_url = "{base_url}"{globex}

[checks.links]
kind = "crawl"
external = false

[checks.checkout]
kind = "scenario"
scenario = "guest-checkout"
paths = ["bundled"]
timeout_s = 120

[audits.nightly]
site = "demo"
checks = ["links", "checkout"]

[audits.other-links]
site = "other"
checks = ["links"]
"""


def _run_id(out: str) -> str:
    found = re.search(r"\b(\d{8}-\d{6}-[0-9a-f]{4})\b", out)
    assert found, out
    return found.group(1)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("dashboard")
    faults = parse_faults(["dead-link", "thank-you-dead-link"], environ={})
    with DemoShop(faults=faults) as shop:
        (folder / "auditor.toml").write_text(_config(shop.base_url), encoding="utf-8")
        demo_runs = []
        for _ in range(2):
            done = auditor(folder, "run", "nightly", "-q")
            assert done.returncode == 1, done.stdout + done.stderr
            demo_runs.append(_run_id(done.stdout + done.stderr))
        done = auditor(folder, "run", "other-links", "-q")
        assert done.returncode in (0, 1), done.stdout + done.stderr
        other_run = _run_id(done.stdout + done.stderr)
        # The users are added in-process (`auditor user add` as a command is tested in test_auth).
        users = AuditorStore.open(f"sqlite:///{folder / 'auditor.db'}")
        try:
            for (name, password), role, client in ((ADMIN, "admin", None), (VIEWER, "viewer", "acme")):
                auth.add_user(users.engine, name, password, role, client)
        finally:
            users.close()
        with serve(folder) as dash:
            yield Store(dash, demo_runs, other_run)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium().path, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


def _login(browser: Browser, store: Store, who: tuple[str, str]) -> Page:
    context = browser.new_context()
    page = context.new_page()
    page.goto(store.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("User name").fill(who[0])
    page.get_by_label("Password").fill(who[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    return page


@pytest.fixture(scope="module")
def admin(browser: Browser, store: Store) -> Iterator[Page]:
    page = _login(browser, store, ADMIN)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def viewer(browser: Browser, store: Store) -> Iterator[Page]:
    page = _login(browser, store, VIEWER)
    yield page
    page.context.close()


def _axe_problems(page: Page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# --------------------------------------------------------------------------------------------- the pages


def test_the_overview_shows_each_site_with_its_status_and_strip(admin: Page, store: Store) -> None:
    admin.goto(store.url + "/")
    demo = admin.locator("tr", has=admin.get_by_role("link", name="demo", exact=True))
    expect(demo.locator(".status").first).to_have_text("fail")
    expect(demo.locator(".strip a")).to_have_count(2)
    expect(demo.get_by_role("link", name="nightly")).to_have_attribute("href", f"/runs/{store.demo_runs[-1]}")
    admin.get_by_label("Sort").select_option("broken")
    admin.get_by_role("button", name="Show").click()
    expect(admin).to_have_url(re.compile(r"sort=broken"))
    assert admin.locator("tbody tr td:first-child a").first.inner_text() == "demo"


@pytest.mark.skipif(not HAS_CLIENTS, reason="sites have no `client` and `tags` keys yet (the sites helper's)")
def test_the_overview_filters_by_client_and_by_tag(admin: Page, store: Store) -> None:
    admin.goto(store.url + "/")
    admin.get_by_label("Client").select_option("globex")
    admin.get_by_role("button", name="Show").click()
    expect(admin.locator("#sites tbody tr")).to_have_count(1)
    expect(admin.get_by_role("link", name="other", exact=True)).to_be_visible()
    admin.goto(store.url + "/?tag=shop")
    expect(admin.locator("#sites tbody tr")).to_have_count(1)
    expect(admin.get_by_role("link", name="demo", exact=True)).to_be_visible()


def test_a_site_page_shows_its_history_in_charts_and_its_incidents(admin: Page, store: Store) -> None:
    admin.goto(store.url + "/")
    admin.get_by_role("link", name="demo", exact=True).click()
    expect(admin.get_by_role("heading", name=re.compile("^demo"))).to_be_visible()
    expect(admin.locator("svg.chart")).to_have_count(3)
    for run_id in store.demo_runs:
        expect(admin.get_by_role("link", name=run_id, exact=True).first).to_be_visible()
    expect(admin.get_by_text("/shipping-policy").first).to_be_visible()


def test_a_run_page_shows_the_report_its_artifacts_and_the_trace(admin: Page, store: Store) -> None:
    run_id = store.demo_runs[-1]
    admin.goto(f"{store.url}/runs/{run_id}")
    expect(admin.get_by_role("heading", name=f"Run {run_id} fail")).to_be_visible()
    report = admin.frame_locator("iframe.report")
    expect(report.get_by_text("/shipping-policy").first).to_be_visible()
    trace = admin.get_by_role("link", name="open trace").first
    href = trace.get_attribute("href")
    assert href and href.startswith("/trace/index.html?trace=")
    screenshot = admin.get_by_role("link", name=re.compile("screenshot")).first.get_attribute("href")
    assert screenshot and admin.request.get(store.url + screenshot).status == 200
    trace.click()
    # The viewer that ships with Playwright, served by the dashboard, shows the scenario's actions,
    # which it read from the trace through the run's access-checked files.
    expect(admin.get_by_text('locator("#add-to-cart")').first).to_be_visible(timeout=30_000)
    expect(admin.get_by_text("Navigate").first).to_be_visible()


def test_an_admin_acknowledges_an_incident_with_a_note(admin: Page, store: Store) -> None:
    admin.goto(store.url + "/incidents")
    row = admin.locator("tbody tr", has_text="/shipping-policy").first
    row_id = row.get_attribute("id")
    assert row_id
    row.get_by_label("Note").fill("shop team is on it")
    row.get_by_role("button", name="Acknowledge").click()
    # HTMX swaps the row in place with who acknowledged it.
    expect(admin.locator(f"#{row_id}")).to_contain_text("acknowledged by admin")
    expect(admin.locator(f"#{row_id}").get_by_role("button", name="Unmute")).to_be_visible()
    admin.goto(store.url + "/incidents?state=acknowledged")
    expect(admin.locator(f"#{row_id}")).to_contain_text("shop team is on it")
    incident = int(row_id.split("-")[1])
    assert store.rows("SELECT action, by_user, note FROM incident_notes WHERE incident_id = ?", incident) == [
        ("ack", "admin", "shop team is on it")
    ]


def test_run_now_starts_a_run_and_shows_its_progress_to_the_end(admin: Page, store: Store) -> None:
    admin.goto(store.url + "/sites/other")
    admin.get_by_role("button", name="Run other-links now").click()
    expect(admin).to_have_url(re.compile(r"/runs/\d{8}-\d{6}-[0-9a-f]{4}$"))
    run_id = admin.url.rsplit("/", 1)[1]
    progress = admin.locator("#progress")
    expect(progress).to_have_attribute("data-done", re.compile("pass|fail|warn"), timeout=120_000)
    expect(progress.locator("li").first).to_contain_text("links:")
    [(status, trigger)] = store.rows('SELECT status, "trigger" FROM runs WHERE id = ?', run_id)
    assert status in ("pass", "fail", "warn") and trigger == "dashboard"


def test_every_page_passes_an_accessibility_scan(browser: Browser, admin: Page, store: Store) -> None:
    problems = {}
    for path in (
        "/",
        "/sites/demo",
        f"/runs/{store.demo_runs[-1]}",
        "/incidents",
        "/incidents?state=resolved",
    ):
        admin.goto(store.url + path)
        if found := _axe_problems(admin):
            problems[path] = found
    context = browser.new_context()
    try:
        login = context.new_page()
        login.goto(store.url + "/login")
        if found := _axe_problems(login):
            problems["/login"] = found
    finally:
        context.close()
    assert not problems, problems


# ------------------------------------------------------------------------------------------------ access

PROTECTED = ("/", "/sites/demo", "/incidents", "/trace/index.html")


def test_nothing_is_reachable_without_logging_in(store: Store) -> None:
    run_id = store.demo_runs[-1]
    paths = [*PROTECTED, f"/runs/{run_id}", f"/runs/{run_id}/report/", f"/runs/{run_id}/events"]
    with httpx.Client(base_url=store.url, follow_redirects=False) as http:
        for path in paths:
            got = http.get(path)
            assert got.status_code == 303 and got.headers["location"].startswith("/login?next="), path
        for path in ("/api/v1/sites", f"/api/v1/runs/{run_id}"):
            got = http.get(path)
            assert got.status_code == 401 and "error" in got.json(), path
        got = http.post("/sites/demo/run", data={"audit": "nightly"})
        assert got.status_code == 303 and got.headers["location"].startswith("/login")
    assert len(store.rows("SELECT id FROM runs")) >= 3  # nothing was started


def _session(store: Store, who: tuple[str, str]) -> tuple[httpx.Client, httpx.Response]:
    http = httpx.Client(base_url=store.url, follow_redirects=False)
    form = http.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    got = http.post(
        "/login", data={"username": who[0], "password": who[1], "csrf": token.group(1), "next": "/"}
    )
    assert got.status_code == 303, got.text
    return http, got


def test_the_session_cookie_is_httponly_samesite_and_signed(store: Store) -> None:
    http, got = _session(store, ADMIN)
    try:
        cookie = next(
            v for k, v in got.headers.multi_items() if k == "set-cookie" and "auditor_session=" in v
        )
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
        assert "secure" not in flags  # plain http on loopback; https or --secure-cookies add it
        value = http.cookies["auditor_session"]
        http.cookies.set("auditor_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
        assert http.get("/").status_code == 303  # a tampered cookie is nobody
    finally:
        http.close()


def test_with_secure_cookies_the_session_cookie_is_secure(store: Store) -> None:
    with serve(store.dash.folder, "--secure-cookies") as other:
        form = httpx.get(other.url + "/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token and "secure" in form.headers["set-cookie"].lower()
        # A browser sends a Secure cookie only over https (the TLS proxy's side): sent by hand here.
        got = httpx.post(
            other.url + "/login",
            data={"username": ADMIN[0], "password": ADMIN[1], "csrf": token.group(1), "next": "/"},
            headers={"Cookie": f"auditor_login={form.cookies['auditor_login']}"},
        )
    assert got.status_code == 303, got.text
    cookie = next(v for k, v in got.headers.multi_items() if k == "set-cookie" and "auditor_session=" in v)
    assert {"secure", "httponly", "samesite=lax"} <= {part.strip().lower() for part in cookie.split(";")}


def test_a_post_without_the_sessions_csrf_token_is_refused(store: Store) -> None:
    [(incident,)] = store.rows("SELECT id FROM incidents ORDER BY id LIMIT 1")
    before = store.rows("SELECT count(*) FROM incident_notes")
    http, _ = _session(store, ADMIN)
    try:
        for data in ({"action": "mute"}, {"action": "mute", "csrf": "forged"}):
            got = http.post(f"/incidents/{incident}/note", data=data)
            assert got.status_code == 403, got.text
        got = http.post("/sites/other/run", data={"audit": "other-links"})
        assert got.status_code == 403
        assert http.post("/logout").status_code == 403
        page = http.get("/incidents").text
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token
        got = http.post(f"/incidents/{incident}/note", data={"action": "unmute", "csrf": token.group(1)})
        assert got.status_code == 303
    finally:
        http.close()
    assert store.rows("SELECT count(*) FROM incident_notes")[0][0] == before[0][0] + 1  # type: ignore[operator]
    # A login form posted from elsewhere (no form token bound to the browser's cookie) is refused too.
    got = httpx.post(store.url + "/login", data={"username": ADMIN[0], "password": ADMIN[1], "next": "/"})
    assert got.status_code == 403


def test_failed_logins_are_limited_per_user_name(store: Store) -> None:
    with httpx.Client(base_url=store.url, follow_redirects=False) as http:
        codes = []
        for _ in range(6):
            token = re.search(r'name="csrf" value="([^"]+)"', http.get("/login").text)
            assert token
            got = http.post(
                "/login", data={"username": "mallory", "password": "guess", "csrf": token.group(1)}
            )
            codes.append(got.status_code)
    assert codes == [401] * 5 + [429]
    assert int(got.headers["retry-after"]) > 0


def test_an_api_token_reads_the_api_as_its_user(store: Store) -> None:
    done = auditor(store.dash.folder, "token", "add", "script", "--user", ADMIN[0])
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    got = httpx.get(store.url + "/api/v1/sites", headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200 and "demo" in got.text
    assert store.rows("SELECT token_sha256 != ? FROM api_tokens WHERE name = 'script'", token) == [(1,)]
    assert auditor(store.dash.folder, "token", "revoke", "script").returncode == 0
    got = httpx.get(store.url + "/api/v1/sites", headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 401


def test_a_viewer_of_one_client_cannot_reach_another_clients_site(viewer: Page, store: Store) -> None:
    """Site `other` is globex's; the viewer is acme's. (Before sites had a `client`, no site was
    acme's, so the viewer saw none at all.)"""
    viewer.goto(store.url + "/")
    own_site = viewer.get_by_role("link", name="demo", exact=True)
    expect(own_site).to_be_visible() if HAS_CLIENTS else expect(own_site).to_have_count(0)
    expect(viewer.get_by_role("link", name="other", exact=True)).to_have_count(0)
    expect(viewer.get_by_role("button", name=re.compile("Run .* now"))).to_have_count(0)
    other = store.other_run
    artifact = store.rows("SELECT artifacts FROM check_results WHERE run_id = ?", other)
    assert artifact
    guesses = [
        "/sites/other",
        f"/runs/{other}",
        f"/runs/{other}/report/",
        f"/runs/{other}/report/report.json",
        f"/runs/{other}/events",
        "/api/v1/sites/other",
        f"/api/v1/runs/{other}",
        f"/api/v1/runs/{other}/findings",
        "/incidents?site=other",
    ]
    for path in guesses:
        got = viewer.request.get(store.url + path, max_redirects=0)
        if path.startswith("/incidents"):
            assert got.status == 200 and "None." in got.text() and "/shipping-policy" not in got.text()
            continue
        assert got.status == 404, f"{path}: {got.status}"
    # Their own site's run, report and files are fine.
    own = store.demo_runs[-1]
    for path in (f"/runs/{own}", f"/runs/{own}/report/", f"/api/v1/runs/{own}"):
        assert viewer.request.get(store.url + path).status == (200 if HAS_CLIENTS else 404), path


def test_a_report_file_outside_the_runs_folder_is_never_served(admin: Page, store: Store) -> None:
    run_id = store.demo_runs[-1]
    for path in ("..%2F..%2Fauditor.toml", "%2E%2E/%2E%2E/auditor.toml", quote("/etc/passwd", safe="")):
        got = admin.request.get(f"{store.url}/runs/{run_id}/report/{path}", max_redirects=0)
        assert got.status == 404, (path, got.status)


@pytest.mark.parametrize(
    "path",
    [
        "/sites/%00",
        "/sites/%3Cscript%3E",
        "/sites/" + "x" * 5000,
        "/runs/%27%3B%20DROP%20TABLE%20runs%3B--",
        "/runs/" + "9" * 300,
        "/runs/%25/report/",
        "/incidents/99999999999999999999/note",
        "/trace/..%2F..%2F..%2Fetc%2Fpasswd",
    ],
)
def test_a_hostile_url_is_a_plain_404_never_a_server_error(store: Store, path: str) -> None:
    http, _ = _session(store, ADMIN)
    try:
        got = http.post(path, data={"csrf": "x"}) if path.endswith("/note") else http.get(path)
    finally:
        http.close()
    assert got.status_code in (403, 404), (path, got.status_code, got.text[:300])
    assert store.rows("SELECT count(*) FROM runs")[0][0]  # still there


def test_the_server_logged_no_error_through_all_of_the_above(store: Store) -> None:
    """Last in this module: every answer above came without an exception in the server."""
    logs = "".join(p.read_text() for p in store.dash.folder.glob("serve-*.log"))
    assert "Traceback" not in logs and "Exception in ASGI application" not in logs, logs[-3000:]

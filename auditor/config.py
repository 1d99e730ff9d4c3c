"""`auditor.toml` -> validated settings, with every problem reported at once by its key path.

Loading happens in three passes, each collecting problems rather than stopping at the first:
TOML syntax, `${ENV_VAR}` expansion, then the pydantic models plus the cross references that
only make sense once everything parsed (an audit naming an unknown check, a `needs` cycle, a
check kind's own options). Values in the places that hold secrets (header and cookie values,
passwords, tokens, keys, alert channel URLs), written in the file or from `${ENV_VAR}`, are secrets:
`Settings.redact()` replaces them wherever text leaves the process. An `${ENV_VAR}` elsewhere
(`base_url = "${SHOP_URL}"`) is configuration, not a secret, and is shown as it is.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor.alerts.config import AlertsConfig
from auditor.errors import ConfigError, Problem
from auditor.mail.config import MailboxConfig
from auditor.queue.config import QueueConfig
from auditor.scheduler.config import SchedulerConfig

DEFAULT_CONFIG = "auditor.toml"
DEFAULT_DATABASE_URL = "sqlite:///auditor.db"
DEFAULT_USER_AGENT = "Mozilla/5.0 (compatible; auditor/0.1; site audit that follows links like a customer)"
REDACTED = "**********"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Keys whose values are credentials wherever they appear (`password`, `api_key`, `smtp_token`...).
# Not `credentials`: the login check's `credentials = "email"` says where they come from.
_SECRET_KEY = re.compile(
    r"(.*[_-])?(password|passwd|pass|secret|token|api[_-]?key|key|auth|authorization|dsn)",
    re.IGNORECASE,
)
# URLs that are credentials themselves: a database's (its password), a dead man's switch's (its id).
_SECRET_URLS = frozenset({"database_url", "heartbeat_url", "webhook_url"})
# Sections whose every value is a secret: `headers` and `cookies` of a site or host.
_SECRET_SECTIONS = frozenset({"headers", "cookies"})
# Shorter than this, a value is no credential and would only blank out noise (`1`, `on`, a port).
_MIN_SECRET = 4


def secret_place(path: tuple[str, ...]) -> bool:
    """Whether the config value at `path` holds a secret (and is masked wherever text leaves)."""
    if not path:
        return False
    if any(part.lower() in _SECRET_SECTIONS for part in path[:-1]):
        return True
    if path[0] == "alerts" and len(path) >= 4 and path[1] == "channels" and path[3] == "url":
        return True
    return path[-1] in _SECRET_URLS or _SECRET_KEY.fullmatch(path[-1]) is not None


def _secret_values(value: Any, path: tuple[str, ...], out: set[str]) -> None:
    """Every string at a secret place of the (expanded) config data."""
    if isinstance(value, dict):
        for k, v in value.items():
            _secret_values(v, (*path, str(k)), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _secret_values(v, (*path, str(i)), out)
    elif isinstance(value, str) and len(value.strip()) >= _MIN_SECRET and secret_place(path):
        out.add(value)
        out.add(value.strip())


def check_regexes(value: list[str]) -> list[str]:
    """Every pattern compiles as a Python regex (else a config problem naming the bad one)."""
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error as e:
            raise ValueError(f"bad regex {pattern!r}: {e}") from e
    return value


def check_regex(value: str) -> str:
    """One pattern that must compile."""
    return check_regexes([value])[0]


# A list of regexes, checked when the config loads (check options use it for include/exclude/ignore).
Regexes = Annotated[list[str], AfterValidator(check_regexes)]
Regex = Annotated[str, AfterValidator(check_regex)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class CrawlLimits(_Model):
    """How hard and how far a crawl may go on a site. Polite defaults for production."""

    max_pages: int = Field(10_000, ge=1, description="pages fetched and parsed at most")
    max_depth: int = Field(25, ge=0, description="clicks from the start page at most")
    max_duration_s: float = Field(1800, gt=0, description="the crawl stops queueing new pages after this")
    concurrency: int = Field(16, ge=1, le=512, description="requests in flight at once, all hosts")
    per_host_concurrency: int = Field(8, ge=1, le=256, description="requests in flight at once, one host")
    delay_s: float = Field(0.0, ge=0, description="pause between two requests to the same host")
    request_timeout_s: float = Field(20.0, gt=0, le=600, description="one request's time limit")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="a page larger than this is cut")
    retries: int = Field(2, ge=0, le=10, description="re-tries of a transient failure")
    max_retry_after_s: float = Field(60.0, ge=0, description="a server's Retry-After is capped at this")
    max_urls_per_path: int = Field(
        50, ge=1, description="distinct query strings per path (stops calendars and session-id traps)"
    )
    respect_robots: bool = Field(True, description="honour robots.txt (turn off for your own site only)")


class HostConfig(_Model):
    """Headers and cookies for another host of the same shop (a CDN, a checkout domain)."""

    # Sent only to this host, as the site's own `headers` go only to the base URL's host.
    headers: dict[str, str] = {}
    # Sent only to this host.
    cookies: dict[str, str] = {}


# Check kinds that read the site's mailbox and cannot run without one.
MAILBOX_KINDS = frozenset({"email", "contact-form", "newsletter"})

DEFAULT_CUSTOMER_EMAIL = "audit+{id}@example.com"
DEFAULT_CUSTOMER_NAME = "Ada Auditor"


class SiteConfig(_Model):
    """A shop to audit."""

    # The shop's address (http or https).
    base_url: str
    # Whether scenarios that place dummy orders may run on this site.
    allow_orders: bool = False
    # The dummy customer of scenarios: `{id}` is unique per run and scenario, so every order,
    # account and email of one run can be told apart from every other run's.
    customer_email: str = DEFAULT_CUSTOMER_EMAIL
    # The dummy customer's name.
    customer_name: str = Field(DEFAULT_CUSTOMER_NAME, min_length=1)
    # The User-Agent sent; the default names auditor honestly.
    user_agent: str = DEFAULT_USER_AGENT
    # Sent only to the base URL's host, never to external links.
    headers: dict[str, str] = {}
    # Cookies sent only to the base URL's host, never to external links.
    cookies: dict[str, str] = {}
    # Extra headers/cookies for other hosts of the shop (a CDN, a checkout domain).
    hosts: dict[str, HostConfig] = {}
    # How hard and how far crawls may go on this site.
    crawl: CrawlLimits = CrawlLimits()
    # Where the emails the shop sends to the dummy customer are read (the built-in SMTP sink or
    # IMAP); without one, the email, contact-form and newsletter checks cannot run.
    mailbox: MailboxConfig | None = None
    # Labels that template audits select sites by (`[audits.NAME] sites = { tag = "woocommerce" }`).
    tags: list[str] = []
    # The agency's client the shop belongs to (a name under [clients]): its alerts go to that
    # client's channels.
    client: str | None = None
    # Whether the dashboard may show this site's status badge without a login.
    public: bool = False
    # Check options changed for this site only, by check name: [sites.NAME.overrides.CHECK].
    overrides: dict[str, dict[str, Any]] = {}

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        return check_http_url(v)

    @field_validator("hosts")
    @classmethod
    def _host_names(cls, v: dict[str, HostConfig]) -> dict[str, HostConfig]:
        for host in v:
            name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
            problem = host_problem(name) or (None if not port or port.isdigit() else "its port is no number")
            if problem:
                raise ValueError(f"{host!r} is not a host name such as cdn.example.com ({problem})")
        return v

    @field_validator("customer_email")
    @classmethod
    def _email_pattern(cls, v: str) -> str:
        return check_email_pattern(v)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc.lower()

    def host_settings(self) -> dict[str, HostConfig]:
        """Headers and cookies by host, the base URL's host included."""
        out = {h.lower(): c for h, c in self.hosts.items()}
        own = out.get(self.host, HostConfig())
        out[self.host] = HostConfig(
            headers={**own.headers, **self.headers}, cookies={**own.cookies, **self.cookies}
        )
        return out


_EMAIL_PLACEHOLDERS = {"id": "x", "run_id": "x", "scenario": "x"}


def check_email_pattern(v: str) -> str:
    """A customer email pattern must give a different address in every run, and one address."""
    if "{id}" not in v and "{run_id}" not in v:
        raise ValueError(f"must contain {{id}} or {{run_id}} so each run gets its own customer, got {v!r}")
    try:
        sample = v.format(**_EMAIL_PLACEHOLDERS)
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(f"only {{id}}, {{run_id}} and {{scenario}} may be used, got {v!r} ({e})") from None
    local, at, domain = sample.partition("@")
    if not at or "@" in domain or not local or not domain:
        raise ValueError(f"must be one email address like audit+{{id}}@example.com, got {v!r}")
    return v


def check_http_url(v: str) -> str:
    """An http(s) URL whose host could be looked up: a DNS name, an IP address or `localhost`."""
    try:
        parts = urlsplit(v.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as e:
        raise ValueError(f"is not a valid URL ({e}), got {v!r}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an http(s) URL with a host, got {v!r}")
    host = parts.hostname or ""
    problem = host_problem(host)
    if problem:
        raise ValueError(f"has an invalid host {host!r} ({problem}), got {v!r}")
    return v.strip()


_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def host_problem(host: str) -> str | None:
    """Why `host` cannot be a host name or address, or None when it can."""
    import ipaddress

    if not host:
        return "it is empty"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if not all(labels):
        return "it has an empty label (two dots in a row, or a leading dot)"
    for label in labels:
        try:
            ascii_label = label.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return f"{label!r} is not a valid international domain name"
        if not _LABEL.match(ascii_label):
            return f"{label!r} may only have letters, digits and inner hyphens"
    if len(name) > 253:
        return "longer than 253 characters"
    if name.replace(".", "").isdigit():
        return "it looks like an IP address but is not one"
    return None


class CheckConfig(BaseModel):
    """A configured check: `kind`, `needs`, `timeout_s`; every other key is the kind's option."""

    model_config = ConfigDict(extra="allow")

    # The check kind: crawl, scenario, email, contact-form, newsletter, login, delivery, payment, ...
    kind: str
    # Checks that must pass first (else this one is `skip`); their outputs are this one's inputs.
    needs: list[str] = []
    # The check's time limit in seconds.
    timeout_s: float = Field(900.0, gt=0)
    # Free text shown in reports.
    description: str = ""

    def option_values(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SiteSelector(_Model):
    """Sites picked by their tags: `{ tag = "woocommerce" }` or `{ tag = ["a", "b"] }` (any of them)."""

    # A tag, or tags of which a site needs any one.
    tag: str | list[str]

    def tags(self) -> list[str]:
        return [self.tag] if isinstance(self.tag, str) else list(self.tag)


class ClientConfig(_Model):
    """An agency's client: the alert channels its sites' alerts go to."""

    # Names under [alerts.channels]; empty: the client's sites use the agency's channels.
    channels: list[str] = []
    # Free text.
    description: str = ""


class AuditConfig(_Model):
    """A named set of checks run together against one site, or a template run for many sites."""

    # The checks the audit runs (the checks they need are added by themselves).
    checks: list[str] = Field(min_length=1)
    # The site it audits; may be left out when the config has one site.
    site: str | None = None
    # A template audit's sites: "*" (every site), a list of names, or { tag = "T" }; one run each.
    sites: Literal["*"] | list[str] | SiteSelector | None = None
    # A 5-field cron expression for `auditor schedule` (minute hour day-of-month month weekday).
    schedule: str | None = None
    # Free text shown in reports.
    description: str = ""

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None:
            return v
        # The scheduler's own parser: crontab's fields, with 0 and 7 both Sunday (APScheduler's
        # from_crontab reads 0 as Monday), so what validates is exactly what `auditor schedule` runs.
        from auditor.scheduler.cron import cron_trigger

        try:
            cron_trigger(v, "UTC")
        except ValueError as e:
            raise ValueError(f"not a valid cron expression ({e}): {v!r}") from None
        return v


class BrowserSettings(_Model):
    """The Chromium that scenarios drive: one per run, started on first use."""

    # Else $AUDITOR_CHROMIUM, Playwright's own Chromium, then a system chromium / google-chrome.
    executable_path: str | None = None
    # Run without a window.
    headless: bool = True
    # More command-line flags for Chromium.
    extra_args: list[str] = []


class WebSettings(_Model):
    """The dashboard (`auditor serve`)."""

    # /metrics readable without a login or token (it then shows every configured site).
    metrics_public: bool = False


class SettingsModel(_Model):
    # SQLAlchemy URL of the results database (sqlite:///... or postgresql+psycopg://...);
    # $AUDITOR_DATABASE_URL and --database-url override it.
    database_url: str = DEFAULT_DATABASE_URL
    # Folder for run reports: each run writes <report_dir>/<run-id>/.
    report_dir: str = "reports"
    # The Chromium that scenarios drive.
    browser: BrowserSettings = BrowserSettings()
    # The dashboard (`auditor serve`).
    web: WebSettings = WebSettings()
    # The shops to audit, by name.
    sites: dict[str, SiteConfig] = {}
    # The checks, by name: each has a `kind` and that kind's options.
    checks: dict[str, CheckConfig] = {}
    # Named sets of checks run together against one site.
    audits: dict[str, AuditConfig] = {}
    # How `auditor schedule` runs the audits that have a `schedule`.
    scheduler: SchedulerConfig = SchedulerConfig()
    # Where and when alerts about incidents are sent.
    alerts: AlertsConfig = AlertsConfig()
    # The agency's clients, by name: which alert channels their sites' alerts go to.
    clients: dict[str, ClientConfig] = {}
    # Per-site files merged into this config: globs relative to this file (sites/*.toml); each may
    # hold [sites.*], [checks.*] and [audits.*].
    include: list[str] = []
    # The Celery broker the workers share (not used yet: see docs/workers.md).
    queue: QueueConfig | None = None


@dataclass
class CheckSpec:
    """A check ready to run: its kind's options validated."""

    name: str
    kind: str
    options: BaseModel
    needs: list[str] = field(default_factory=list)
    timeout_s: float = 900.0
    description: str = ""


@dataclass(frozen=True)
class Target:
    """One run to make: `audit` on `site`, with `settings` as that run sees them (for_target)."""

    audit: str
    site: str
    site_config: SiteConfig
    settings: Settings

    @property
    def checks(self) -> dict[str, CheckSpec]:
        """The effective checks (the site's overrides applied)."""
        return self.settings.checks


@dataclass
class Settings:
    """The validated configuration of one auditor installation."""

    model: SettingsModel
    checks: dict[str, CheckSpec]
    source: Path | None = None
    secrets: frozenset[str] = frozenset()
    # What `include` found odd (a glob matching no file): shown by `auditor validate`.
    include_warnings: list[Problem] = field(default_factory=list)

    @property
    def sites(self) -> dict[str, SiteConfig]:
        return self.model.sites

    @property
    def audits(self) -> dict[str, AuditConfig]:
        return self.model.audits

    @property
    def base_dir(self) -> Path:
        """Relative paths in the config are relative to the config file's folder."""
        return self.source.parent if self.source else Path.cwd()

    def database_url(self, override: str | None = None) -> str:
        url = override or os.environ.get("AUDITOR_DATABASE_URL") or self.model.database_url
        return resolve_sqlite_path(url, self.base_dir)

    def report_root(self) -> Path:
        return self.base_dir / self.model.report_dir

    def site_for(self, audit: str) -> tuple[str, SiteConfig]:
        a = self.audits[audit]
        if a.site is None and a.sites is not None:
            names = self.site_names(audit)
            if not names:
                raise KeyError(f"audit {audit!r} matches no site")
            return names[0], self.sites[names[0]]
        name = a.site or next(iter(self.sites))
        return name, self.sites[name]

    def site_names(self, audit: str) -> list[str]:
        """The sites `audit` runs for, in config order: its one `site`, or its template's `sites`."""
        a = self.audits[audit]
        if a.site is not None or a.sites is None:
            return [a.site or next(iter(self.sites))] if (a.site or self.sites) else []
        if a.sites == "*":
            return list(self.sites)
        if isinstance(a.sites, SiteSelector):
            wanted = set(a.sites.tags())
            return [n for n, site in self.sites.items() if wanted & set(site.tags)]
        return [n for n in a.sites if n in self.sites]

    def targets(self, audit: str, sites: Sequence[str] = (), tags: Sequence[str] = ()) -> list[Target]:
        """The (audit, site) pairs to run, each with its effective checks (the site's overrides
        applied): every site of the audit, narrowed to `sites` and to sites with any of `tags`.

        Raises KeyError for an unknown audit and ValueError (with the known names) for a named site
        that is not one of the audit's sites."""
        names = self.site_names(audit)
        for name in sites:
            if name not in names:
                raise ValueError(
                    f"site {name!r} is not one of audit {audit!r}'s sites: {', '.join(names) or 'none'}"
                )
        if sites:
            names = [n for n in names if n in set(sites)]
        if tags:
            names = [n for n in names if set(tags) & set(self.sites[n].tags)]
        return [Target(audit, n, self.sites[n], self.for_target(audit, n)) for n in names]

    def for_target(self, audit: str, site: str) -> Settings:
        """These settings as one run of `audit` on `site` sees them: the audit pinned to the site
        and the checks with the site's `overrides` applied (already validated when loading)."""
        from auditor import registry

        cfg = self.sites[site]
        checks = dict(self.checks)
        for check, values in cfg.overrides.items():
            spec = checks.get(check)
            cls = registry.get(spec.kind) if spec else None
            if spec is None or cls is None:
                continue
            merged = {**spec.options.model_dump(exclude_unset=True), **values}
            checks[check] = dataclasses.replace(spec, options=strict(cls.Options, merged))
        pinned = self.audits[audit].model_copy(update={"site": site})
        model = self.model.model_copy(update={"audits": {**self.audits, audit: pinned}})
        return dataclasses.replace(self, model=model, checks=checks)

    def channels_for(self, site: str) -> list[str] | None:
        """The alert channels a run on `site` may notify: its client's `channels`; else (no client,
        or a client without channels) the agency's, i.e. every channel no client lists. None when the
        config has no clients at all (every channel, as before)."""
        clients = self.model.clients
        if not clients:
            return None
        cfg = self.sites.get(site)
        client = clients.get(cfg.client) if cfg and cfg.client else None
        if client is not None and client.channels:
            return list(client.channels)
        taken = {c for cl in clients.values() for c in cl.channels}
        return [c for c in self.model.alerts.channels if c not in taken]

    def warnings(self) -> list[Problem]:
        """What is valid but probably not what was meant: an audit whose failures reach nobody, an
        email check on a site without a mailbox. `auditor validate` prints them and still passes."""
        found: list[Problem] = list(self.include_warnings)
        channels = self.model.alerts.channels
        known_tags = {t for site in self.sites.values() for t in site.tags}
        clients = set(self.model.clients)
        for name, site in self.sites.items():
            if site.client is not None and site.client not in clients:
                found.append(
                    Problem(
                        f"sites.{name}.client",
                        f"{_unknown_name('client', site.client, clients)}: its alerts go to the agency's "
                        f"channels; add [clients.{site.client}] with its `channels` to route them",
                    )
                )
        for name, audit in self.audits.items():
            if audit.sites is not None and not self.site_names(name):
                found.append(Problem(f"audits.{name}.sites", "this template audit matches no site"))
            if isinstance(audit.sites, SiteSelector):
                for tag in audit.sites.tags():
                    if tag not in known_tags:
                        found.append(Problem(f"audits.{name}.sites.tag", f"no site has the tag {tag!r}"))
            if not any(not c.audits or name in c.audits for c in channels.values()):
                found.append(
                    Problem(
                        f"audits.{name}",
                        "no alert channel hears about this audit: its failures are recorded but nobody "
                        "is told; add one under [alerts.channels] (or list this audit in a channel's "
                        "`audits`)",
                    )
                )
            for site_name in self.site_names(name) if self.sites else []:
                found.extend(self._mailbox_warnings(audit, site_name))
        return found

    def _mailbox_warnings(self, audit: AuditConfig, site_name: str) -> list[Problem]:
        found: list[Problem] = []
        site = self.sites.get(site_name)
        if site is not None and site.mailbox is None:
            for check in audit.checks:
                spec = self.checks.get(check)
                if spec is not None and spec.kind in MAILBOX_KINDS:
                    found.append(
                        Problem(
                            f"checks.{check}",
                            f"the {spec.kind} check reads the shop's emails, but site {site_name!r} has no "
                            f"mailbox, so it will end as `error`: add [sites.{site_name}.mailbox] "
                            '(kind = "sink" or kind = "imap")',
                        )
                    )
        return found

    def redact(self, text: str) -> str:
        """`text` with every secret value replaced by asterisks."""
        for s in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(s, REDACTED)
        return text


def resolve_sqlite_path(url: str, base: Path) -> str:
    """Make a relative `sqlite:///file.db` path relative to `base`, so cron and CI find the same file."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
        rest = url[len(prefix) :]
        if rest and rest != ":memory:":
            return prefix + str((base / rest).resolve())
    return url


def load(path: str | Path, environ: dict[str, str] | None = None) -> Settings:
    """Read and validate a config file. Raises ConfigError listing every problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [Problem("", f"{p} does not exist; `auditor init` writes a starter config")], str(p)
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([Problem("", f"cannot read {p}: {e}")], str(p)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([Problem("", f"not valid TOML: {e}")], str(p)) from None
    data, origins, notes = _include(data, p.resolve())
    try:
        settings = from_dict(data, source=p.resolve(), environ=environ)
    except ConfigError as e:
        raise ConfigError([_from_file(pr, origins, p.resolve()) for pr in e.problems], str(p)) from None
    settings.include_warnings = notes
    return settings


INCLUDABLE = ("sites", "checks", "audits")


def _include(
    data: dict[str, Any], path: Path
) -> tuple[dict[str, Any], dict[tuple[str, str], Path], list[Problem]]:
    """`data` with the files its `include` globs match merged in (sorted, each once): their [sites.*],
    [checks.*] and [audits.*]. Returns the merged data, the file each included entry came from, and
    warnings (a glob matching nothing). A name defined twice, an included file that is not valid
    TOML, has other tables or includes again (includes do not nest) is a ConfigError."""
    origins: dict[tuple[str, str], Path] = {}
    raw = data.get("include")
    if raw is None:
        return data, origins, []
    if not isinstance(raw, list) or not all(isinstance(g, str) for g in raw):
        raise ConfigError([Problem("include", 'a list of glob strings, e.g. ["sites/*.toml"]')], str(path))
    merged = {k: (dict(v) if k in INCLUDABLE and isinstance(v, dict) else v) for k, v in data.items()}
    for section in INCLUDABLE:
        for name in merged.get(section, {}) if isinstance(merged.get(section), dict) else ():
            origins[(section, name)] = path
    problems: list[Problem] = []
    notes: list[Problem] = []
    seen: set[Path] = {path}
    for i, pattern in enumerate(raw):
        if Path(pattern).is_absolute():
            problems.append(Problem(f"include.{i}", f"{pattern!r}: globs are relative to the config file"))
            continue
        files = sorted(f.resolve() for f in path.parent.glob(pattern) if f.is_file())
        if not files:
            notes.append(Problem(f"include.{i}", f"{pattern!r} matches no file (next to {path.name})"))
        for f in files:
            if f in seen:
                continue
            seen.add(f)
            try:
                part = tomllib.loads(f.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
                problems.append(Problem(f"include.{i}", f"{f}: cannot read it as TOML: {e}"))
                continue
            for key in part:
                if key not in INCLUDABLE:
                    what = (
                        "includes do not nest"
                        if key == "include"
                        else "only [sites.*], [checks.*] and [audits.*]"
                    )
                    problems.append(Problem(f"include.{i}", f"{f}: {key!r} is not allowed here ({what})"))
            for section in INCLUDABLE:
                entries = part.get(section, {})
                if not isinstance(entries, dict):
                    continue
                target = merged.setdefault(section, {})
                if not isinstance(target, dict):
                    continue
                for name, value in entries.items():
                    if (section, name) in origins:
                        problems.append(
                            Problem(
                                f"{section}.{name}",
                                f"defined twice: in {origins[(section, name)]} and in {f}",
                            )
                        )
                        continue
                    origins[(section, name)] = f
                    target[name] = value
    if problems:
        raise ConfigError(problems, str(path))
    merged.pop("include", None)
    merged["include"] = raw
    return merged, origins, notes


def _from_file(problem: Problem, origins: dict[tuple[str, str], Path], main: Path) -> Problem:
    """`problem` naming the included file its entry came from (the main file's go unnamed)."""
    parts = problem.path.split(".")
    origin = origins.get((parts[0], parts[1])) if len(parts) >= 2 else None
    if origin is None or origin == main:
        return problem
    return Problem(problem.path, f"{problem.message} (in {origin})")


def from_dict(
    data: dict[str, Any], source: Path | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Validate already-parsed config data. Raises ConfigError listing every problem."""
    env = dict(os.environ) if environ is None else environ
    problems: list[Problem] = []
    secrets: set[str] = set()
    data = _expand(data, env, (), problems, secrets)
    _secret_values(data, (), secrets)
    try:
        model = strict(SettingsModel, data)
    except ValidationError as e:
        problems.extend(_problems(e))
        # Keep going with the entries that are valid, so the cross references and the check
        # kinds' own options are reported too, in the same pass.
        model = _valid_entries(data)
    checks = _check_specs(data, model, problems, source.parent if source else Path.cwd())
    _cross_check(data, model, problems)
    if problems:
        raise ConfigError(problems, str(source) if source else "")
    return Settings(model=model, checks=checks, source=source, secrets=frozenset(s for s in secrets if s))


def _expand(
    value: Any, env: dict[str, str], path: tuple[str, ...], problems: list[Problem], secrets: set[str]
) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, env, (*path, str(k)), problems, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, (*path, str(i)), problems, secrets) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    secret = secret_place(path)

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            # Only where a secret goes: `base_url = "${SHOP_URL}"` is no secret, and masking it
            # turned every finding URL into `**********/offers/`. A port is no credential either.
            value = env[name]
            if secret and len(value) >= _MIN_SECRET and not (value.isdigit() and len(value) <= 5):
                secrets.add(value)
            return value
        if default is not None:
            return default
        problems.append(Problem(".".join(path), f"environment variable {name} is not set"))
        return ""

    return _ENV_REF.sub(sub, value)


_M = TypeVar("_M", bound=BaseModel)


def strict(model: type[_M], data: Any) -> _M:
    """`data` validated as `model` without coercion: TOML has real booleans, numbers and dates, so
    `allow_orders = "yes"` or `max_pages = "10"` is a mistake to report, never a guess. Validated
    as JSON, where strict mode still reads dates and enum values from strings."""
    return model.model_validate_json(json.dumps(data, default=_json_default), strict=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


_TYPE_NAMES = {
    "bool_type": "true or false (a TOML boolean, without quotes)",
    "int_type": "a whole number (without quotes)",
    "float_type": "a number (without quotes)",
    "string_type": "a string (in quotes)",
    "list_type": 'a list, like ["a", "b"]',
    "dict_type": "a table (a [section] or { key = value })",
    "model_type": "a table (a [section] or { key = value })",
    "model_attributes_type": "a table (a [section] or { key = value })",
}


def _shown(value: Any, loc: list[str]) -> str:
    if secret_place(tuple(loc)):
        return REDACTED
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problems(e: ValidationError, prefix: Iterable[str] = ()) -> list[Problem]:
    out = []
    for err in e.errors():
        loc = [*prefix, *(str(x) for x in err["loc"])]
        msg = err["msg"]
        if err["type"] in _TYPE_NAMES:
            msg = f"must be {_TYPE_NAMES[err['type']]}, got {_shown(err.get('input'), loc)}"
        elif err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling in docs/reference/configuration.md)"
        elif err["type"] in ("union_tag_not_found", "union_tag_invalid"):
            # A section chosen by its `kind` (a mailbox, a ledger): say which kinds exist.
            ctx = err.get("ctx") or {}
            if "tag" in ctx:
                msg = f"unknown kind {ctx['tag']!r}: set kind to one of {ctx.get('expected_tags', '')}"
            else:
                msg = "`kind` is missing: every such section names its kind (docs/reference/configuration.md)"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append(Problem(".".join(loc), msg))
    return out


def _valid_entries(data: dict[str, Any]) -> SettingsModel:
    """A model of only the sections and entries that are valid on their own."""
    sections: dict[str, Any] = {}
    for key, cls in (("sites", SiteConfig), ("checks", CheckConfig), ("audits", AuditConfig)):
        raw = data.get(key)
        good: dict[str, Any] = {}
        for name, value in raw.items() if isinstance(raw, dict) else ():
            try:
                good[name] = strict(cls, value)
            except ValidationError:
                continue
        sections[key] = good
    try:
        sections["alerts"] = strict(AlertsConfig, data.get("alerts", {}))
    except ValidationError:
        sections["alerts"] = AlertsConfig()
    return SettingsModel.model_construct(**sections)


_CHECK_KEYS = frozenset(CheckConfig.model_fields)


def _check_specs(
    data: dict[str, Any], model: SettingsModel, problems: list[Problem], base_dir: Path
) -> dict[str, CheckSpec]:
    """Every check's kind options, validated even when its own keys (`timeout_s`...) are wrong, so
    that every problem of every check is in the one report."""
    from auditor import registry

    specs: dict[str, CheckSpec] = {}
    raw_checks = data.get("checks")
    for name, raw in raw_checks.items() if isinstance(raw_checks, dict) else ():
        if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
            continue  # the section's own validation said what is wrong
        kind = raw["kind"]
        cls = registry.get(kind)
        if cls is None:
            known = ", ".join(registry.kinds())
            problems.append(Problem(f"checks.{name}.kind", f"unknown check kind {kind!r} (known: {known})"))
            continue
        try:
            options = strict(cls.Options, {k: v for k, v in raw.items() if k not in _CHECK_KEYS})
        except ValidationError as e:
            problems.extend(_problems(e, ("checks", name)))
            continue
        # What only the kind can judge, e.g. that a named scenario exists in its folders.
        for p in cls.config_problems(options, base_dir):
            problems.append(Problem(".".join(x for x in ("checks", name, p.path) if x), p.message))
        cc = model.checks.get(name)
        if cc is not None:
            specs[name] = CheckSpec(name, kind, options, list(cc.needs), cc.timeout_s, cc.description)
    return specs


def _section(data: dict[str, Any], section: str) -> dict[str, Any]:
    raw = data.get(section)
    return raw if isinstance(raw, dict) else {}


def _names(data: dict[str, Any], section: str) -> set[str]:
    raw = data.get(section)
    return set(raw) if isinstance(raw, dict) else set()


def _strings(value: Any) -> list[tuple[int, str]]:
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)] if isinstance(value, list) else []


def _cross_check(data: dict[str, Any], model: SettingsModel, problems: list[Problem]) -> None:
    """References between sections, read from the raw data so that an entry with another problem
    still has its references checked in the same pass."""
    checks, sites, audits = _names(data, "checks"), _names(data, "sites"), _names(data, "audits")
    raw_checks = _section(data, "checks")
    graph: dict[str, list[str]] = {}
    for name, raw in raw_checks.items():
        needs = _strings(raw.get("needs")) if isinstance(raw, dict) else []
        for i, need in needs:
            if need not in checks:
                problems.append(Problem(f"checks.{name}.needs.{i}", _unknown_name("check", need, checks)))
            elif need == name:
                problems.append(Problem(f"checks.{name}.needs.{i}", "a check cannot need itself"))
        graph[name] = [d for _, d in needs if d in checks]
    cycle = find_cycle(graph)
    if cycle:
        problems.append(Problem("checks", "`needs` form a cycle: " + " -> ".join(cycle)))
    raw_audits = _section(data, "audits")
    for name, raw in raw_audits.items():
        if not isinstance(raw, dict):
            continue
        for i, check in _strings(raw.get("checks")):
            if check not in checks:
                problems.append(Problem(f"audits.{name}.checks.{i}", _unknown_name("check", check, checks)))
        site = raw.get("site")
        if isinstance(site, str) and site not in sites:
            problems.append(Problem(f"audits.{name}.site", _unknown_name("site", site, sites)))
        template = raw.get("sites")
        if template is not None and site is not None:
            problems.append(Problem(f"audits.{name}", "set `site` or `sites`, not both"))
            continue
        if template is not None:
            for i, one in _strings(template):
                if one not in sites:
                    problems.append(Problem(f"audits.{name}.sites.{i}", _unknown_name("site", one, sites)))
            continue
        if site is None and len(sites) != 1:
            what = "no site is configured" if not sites else "there are several sites"
            problems.append(Problem(f"audits.{name}.site", f"name the site to audit ({what})"))
    problems.extend(model.alerts.problems(checks=checks, audits=audits))
    channels = set(model.alerts.channels)
    for name, raw in _section(data, "clients").items():
        for i, channel in _strings(raw.get("channels") if isinstance(raw, dict) else None):
            if channel not in channels:
                problems.append(
                    Problem(f"clients.{name}.channels.{i}", _unknown_name("alert channel", channel, channels))
                )
    raw_checks_all = _section(data, "checks")
    for name, raw in _section(data, "sites").items():
        if not isinstance(raw, dict):
            continue
        overrides = raw.get("overrides")
        for check, values in overrides.items() if isinstance(overrides, dict) else ():
            where = f"sites.{name}.overrides.{check}"
            if check not in checks:
                problems.append(Problem(where, _unknown_name("check", check, checks)))
                continue
            base = raw_checks_all.get(check)
            if not isinstance(values, dict) or not isinstance(base, dict):
                continue
            problems.extend(_override_problems(base, values, where))


def _override_problems(base: dict[str, Any], values: dict[str, Any], where: str) -> list[Problem]:
    """A site's overrides of one check, validated as that check's options with them applied."""
    from auditor import registry

    cls = registry.get(base.get("kind", "")) if isinstance(base.get("kind"), str) else None
    if cls is None:
        return []
    bad = sorted(k for k in values if k in _CHECK_KEYS)
    if bad:
        listed = ", ".join(bad)
        return [Problem(where, f"only a check kind's options can be overridden per site, not {listed}")]
    merged = {**{k: v for k, v in base.items() if k not in _CHECK_KEYS}, **values}
    try:
        strict(cls.Options, merged)
    except ValidationError as e:
        return _problems(e, tuple(where.split(".")))
    return []


def _unknown_name(what: str, name: str, known: set[str]) -> str:
    listed = ", ".join(sorted(known)) or "none are configured"
    return f"no {what} named {name!r} (known: {listed})"


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle in `graph` as a path that starts and ends on the same node, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for d in graph.get(n, []):
            if state.get(d) == 1:
                return [*stack[stack.index(d) :], d]
            if d not in state and (c := visit(d)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in graph:
        if n not in state and (c := visit(n)):
            return c
    return None


def single_check(
    base_url: str,
    kind: str,
    options: dict[str, Any],
    *,
    check_name: str,
    site: dict[str, Any] | None = None,
    database_url: str | None = None,
    report_dir: str = "reports",
) -> Settings:
    """Settings for a one-check audit built from command-line flags (`auditor crawl URL`)."""
    return ad_hoc(
        base_url,
        {check_name: {"kind": kind, **options}},
        audit=check_name,
        site=site,
        database_url=database_url,
        report_dir=report_dir,
    )


def ad_hoc(
    base_url: str,
    checks: dict[str, dict[str, Any]],
    *,
    audit: str,
    site: dict[str, Any] | None = None,
    database_url: str | None = None,
    report_dir: str = "reports",
) -> Settings:
    """Settings for an audit of `checks` built from command-line flags (`auditor scenario run`).

    There is no config file, so relative paths are relative to the current folder.
    """
    data: dict[str, Any] = {
        "report_dir": report_dir,
        "sites": {"site": {"base_url": base_url, **(site or {})}},
        "checks": checks,
        "audits": {audit: {"checks": list(checks), "site": "site"}},
    }
    if database_url:
        data["database_url"] = database_url
    return from_dict(data, environ={})

"""The campaign email (.eml and .html) against a loopback site: links, images, parameters, merge
tags, unsubscribe, spelling; malformed files are findings, never a crash. No browser needed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.campaign.conftest import kinds, of_kind, run_campaign
from tests.crawl.site import Site, serve

pytestmark = pytest.mark.asyncio(loop_scope="module")
UTM = "utm_source=news&utm_medium=email&utm_campaign=spring"


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    s = Site(pages={"/sale": "<p>Sale</p>", "/unsubscribe": "<p>Bye</p>"})
    with serve(s.app) as url:
        yield url


def eml(
    base: str, html: str, text: str = "", unsubscribe: bool = True, subject: str = "Spring sale"
) -> bytes:
    listed = f"List-Unsubscribe: <{base}/unsubscribe?u=1>\r\n" if unsubscribe else ""
    body = html + (f'<p><a href="{base}/unsubscribe?u=1">Unsubscribe</a></p>' if unsubscribe else "")
    return (
        f"From: Shop <news@shop.example>\r\nTo: a@example.com\r\nSubject: {subject}\r\n"
        f"{listed}MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
        f"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text or 'Spring sale now on.'}\r\n"
        f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>{body}</body></html>\r\n--b--\r\n"
    ).encode()


async def check(site: str, tmp_path: Path, content: bytes, name: str = "mail.eml", **options: object):  # type: ignore[no-untyped-def]
    (tmp_path / name).write_bytes(content)
    return await run_campaign(site, tmp_path, email=name, browser=False, **options)


async def test_a_good_email_gives_nothing(site: str, tmp_path: Path) -> None:
    html = f'<p>Our spring sale is on.</p><p><a href="{site}/sale?{UTM}">Shop the sale</a></p>'
    r = await check(site, tmp_path, eml(site, html))
    assert r.findings == []
    assert r.stats["email_links"] == 2


async def test_dead_links_and_images_merge_tags_and_lost_params(site: str, tmp_path: Path) -> None:
    drop = f"{site}/to?url={quote('/sale', safe='')}&{UTM}"
    html = (
        f'<p>Hi {{{{ first_name }}}}, our sale is on.</p><a href="{site}/status/404">Shop</a>'
        f'<img src="{site}/images?src=missing" alt="hero"><a href="{drop}">Sale</a>'
    )
    r = await check(site, tmp_path, eml(site, html))
    assert kinds(r) == {"email_broken_link", "email_merge_tag", "tracking_params_lost"}
    broken = {f.url: f.evidence["link_kind"] for f in of_kind(r, "email_broken_link")}
    assert broken == {f"{site}/status/404": "link", f"{site}/images?src=missing": "image"}
    (lost,) = of_kind(r, "tracking_params_lost")
    assert lost.url == drop and lost.evidence["final_url"] == f"{site}/sale"


async def test_unsubscribe_missing_in_the_body_and_the_header(site: str, tmp_path: Path) -> None:
    r = await check(site, tmp_path, eml(site, "<p>Our sale is on.</p>", unsubscribe=False))
    missing = of_kind(r, "email_unsubscribe_missing")
    assert {(f.severity.value, f.key.split("\x1f")[1]) for f in missing} == {
        ("error", "body"),
        ("warning", "header"),
    }


async def test_a_dead_list_unsubscribe_url(site: str, tmp_path: Path) -> None:
    raw = eml(site, "<p>Our sale is on.</p>").replace(
        f"List-Unsubscribe: <{site}/unsubscribe?u=1>".encode(),
        f"List-Unsubscribe: <{site}/status/410>".encode(),
    )
    r = await check(site, tmp_path, raw)
    assert kinds(r) == {"email_unsubscribe_broken"}


async def test_spelling_each_word_once_with_a_suggestion_and_the_shops_words(
    site: str, tmp_path: Path
) -> None:
    text = (
        "Our sprnig sale is here. The sprnig collection from Harborly: code SPRING20, the NIGHTHAWK "
        f"lamp, iPhone cases. Write to help@shop.example or see {site}/sale?q=xyzzyq."
    )
    r = await check(site, tmp_path, eml(site, f"<p>{text}</p>", text=text))
    words = {f.evidence["word"]: f.evidence["suggestion"] for f in of_kind(r, "email_spelling")}
    assert words == {"sprnig": "spring", "Harborly": words.get("Harborly")}
    (tmp_path / "words.txt").write_text("# brand\nharborly\n")
    r = await check(site, tmp_path, eml(site, f"<p>{text}</p>", text=text), words_file="words.txt")
    assert {f.evidence["word"] for f in of_kind(r, "email_spelling")} == {"sprnig"}
    r = await check(site, tmp_path, eml(site, f"<p>{text}</p>", text=text), words=["Harborly", "sprnig"])
    assert of_kind(r, "email_spelling") == []
    r = await check(site, tmp_path, eml(site, f"<p>{text}</p>", text=text), spelling=False)
    assert of_kind(r, "email_spelling") == []


async def test_another_language(site: str, tmp_path: Path) -> None:
    text = "Nuestra gran venta de primavera, ahora."
    mail = eml(site, f"<p>{text}</p>", text=text, subject="Venta de primavera")
    r = await check(site, tmp_path, mail, language="es", words=["Unsubscribe"])
    assert of_kind(r, "email_spelling") == []
    r = await check(site, tmp_path, mail)
    assert of_kind(r, "email_spelling")


async def test_an_html_file_is_a_body_alone(site: str, tmp_path: Path) -> None:
    html = (
        f"<html><head><title>Sale</title></head><body><p>Our sale.</p><a href='{site}/status/404'>x</a>"
        f"<a href='{site}/unsubscribe'>Unsubscribe</a></body></html>"
    ).encode()
    r = await check(site, tmp_path, html, name="mail.html")
    # No headers, so no List-Unsubscribe to ask for.
    assert kinds(r) == {"email_broken_link"}


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\xff\xfe garbage \x80",
        b"Subject: only a header\r\n\r\n",
        b"<html><body><a href='http://[bad'>",
    ],
)
async def test_malformed_files_are_findings(site: str, tmp_path: Path, content: bytes) -> None:
    name = "mail.html" if content.startswith(b"<html") else "mail.eml"
    r = await check(site, tmp_path, content, name=name)
    assert r.findings, "a file with no usable email says so"
    assert kinds(r) <= {"email_unreadable", "email_unsubscribe_missing", "malformed_link", "email_spelling"}


async def test_a_missing_file_or_bad_language_is_a_config_problem(site: str, tmp_path: Path) -> None:
    from auditor.campaign.spec import CampaignOptions
    from auditor.checks.campaign import CampaignCheck

    problems = CampaignCheck.config_problems(CampaignOptions(email="nope.eml"), tmp_path)
    assert [p.path for p in problems] == ["email"]
    (tmp_path / "m.eml").write_bytes(b"x")
    problems = CampaignCheck.config_problems(CampaignOptions(email="m.eml", language="xx"), tmp_path)
    assert [p.path for p in problems] == ["language"]
    assert [p.path for p in CampaignCheck.config_problems(CampaignOptions(), tmp_path)] == ["landing_urls"]

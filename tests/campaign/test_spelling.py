"""The spelling check's text extraction and checker, as properties (hypothesis) and examples."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.campaign.spelling import language_problem, misspellings, read_words, words_of

# --- text extraction (properties) ----------------------------------------------------------

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10)
_url = st.builds(lambda a, b: f"https://{a}.example/{b}?utm_source={a}", _word, _word)
_email = st.builds(lambda a, b: f"{a}@{b}.example", _word, _word)
_code = st.builds(lambda a, n: f"{a.upper()}{n}", _word, st.integers(0, 999))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_word, _url, _email, _code), min_size=1, max_size=12))
def test_urls_emails_and_codes_are_never_words(tokens: list[str]) -> None:
    text = " ".join(tokens)
    found = [w for w, _ in words_of(text)]
    plain = [t for t in tokens if t.isalpha()]
    assert found == plain


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_checked_without_error(text: str) -> None:
    out = misspellings(text)
    assert len({m.word.lower() for m in out}) == len(out)  # each word once
    for m in out:
        assert m.word in text


def test_examples() -> None:
    text = "Grab the NIGHTHAWK and an iPhone case with SPRING20 (don't wait: well-made, re-use)."
    assert [w for w, _ in words_of(text)] == [
        "Grab",
        "the",
        "and",
        "an",
        "case",
        "with",
        "don't",
        "wait",
        "well",
        "made",
        "re",
        "use",
    ]
    (m,) = misspellings("Our lovley sale, lovley prices")
    assert (m.word, m.suggestion) == ("lovley", "lovely")
    assert misspellings("Our lovley sale", words=["Lovley"]) == []
    assert misspellings("Hi {{ frist_name }}, see *|FNAME|*") == []


def test_unknown_language_and_word_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert language_problem("en") is None
    assert "xx" in (language_problem("xx") or "")
    f = tmp_path / "w.txt"
    f.write_bytes(b"Harbor Pine  # brand\n\n# comment\nNighthawk\n\xff\n")
    assert read_words(str(f))[:3] == ["Harbor", "Pine", "Nighthawk"]

"""Languages: complete packaged files, fallbacks string by string, administrators' files."""

from __future__ import annotations

import logging
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from missedcall.render.folders import Layers
from missedcall.render.i18n import LANGUAGES_DIR, LanguageError, Languages, parse_language
from tests.support.files import write_changed
from tests.support.rendering import call_from, render

MOMENT = datetime(2026, 11, 28, 14, 5, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture
def admin(tmp_path: Path) -> Path:
    folder = tmp_path / "languages"
    folder.mkdir()
    return folder


def languages(admin: Path | None = None) -> Languages:
    return Languages(Layers(LANGUAGES_DIR, admin), check_interval=0)


def test_english_and_german_are_complete() -> None:
    english = tomllib.loads((LANGUAGES_DIR / "en.toml").read_text())
    german = tomllib.loads((LANGUAGES_DIR / "de.toml").read_text())
    assert set(german["strings"]) == set(english["strings"])
    assert set(german["format"]) == set(english["format"])
    assert languages().problems == ()
    assert languages().available() == ("de", "en")


def test_dates_times_and_durations_read_as_the_language_writes_them() -> None:
    english, german = languages().get("en"), languages().get("de")
    assert english.when(MOMENT).text == "Saturday, 28 November 2026, 14:05"
    assert german.when(MOMENT).text == "Samstag, 28.11.2026, 14:05 Uhr"
    assert english.duration(4.6) == "5 s"
    assert english.duration(65) == "1 min 5 s"
    assert german.duration(125) == "2 Min. 5 Sek."


def test_a_partial_translation_falls_back_to_english_string_by_string(admin: Path) -> None:
    write_changed(
        admin / "fr.toml", '[language]\nname = "Français"\n[strings]\ncall-back = "Rappeler"\n'
    )
    french = languages(admin).get("fr")
    assert french.code == "fr"
    assert french.name == "Français"
    assert french.strings["call-back"] == "Rappeler"
    assert french.strings["missed-call"] == "Missed call"
    assert french.when(MOMENT).time == "14:05"


def test_a_regional_language_falls_back_to_its_base_then_english(admin: Path) -> None:
    write_changed(admin / "de-AT.toml", '[strings]\nmissed-call = "Entgangener Anruf"\n')
    austrian = languages(admin).get("de_at")
    assert austrian.code == "de-AT"
    assert austrian.strings["missed-call"] == "Entgangener Anruf"
    assert austrian.strings["call-back"] == "Zurückrufen"
    assert languages(admin).get("de-CH").code == "de"


def test_an_unknown_language_is_english_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "missedcall.render"):
        assert languages().get("xx").code == "en"
    assert "'xx': no such language file" in caplog.text


def test_an_administrators_file_replaces_the_packaged_one(admin: Path) -> None:
    write_changed(admin / "de.toml", '[strings]\ncall-back = "Rückruf"\n')
    german = languages(admin).get("de")
    assert german.strings["call-back"] == "Rückruf"
    assert german.strings["missed-call"] == "Missed call"  # the file replaces, English fills


def test_the_user_language_overrides_the_server_default() -> None:
    record = call_from("01-missed-direct.ami")
    _, anna = render(record, "anna", None)  # language = "de"
    _, dora = render(record, "dora", None)  # no language: notify.language
    _, dora_de = render(record, "dora", None, '[notify]\nlanguage = "de"\n')
    _, carla = render(record, "carla", None, '[notify]\nlanguage = "de"\n')  # language = "en"
    assert anna["Subject"].startswith("Verpasster Anruf")
    assert dora["Subject"].startswith("Missed call")
    assert dora_de["Subject"].startswith("Verpasster Anruf")
    assert carla["Subject"].startswith("Missed call")


def test_a_broken_file_is_reported_and_the_last_good_version_kept(admin: Path) -> None:
    found = languages(admin)
    write_changed(admin / "fr.toml", '[strings]\ncall-back = "Rappeler"\n')
    assert found.get("fr").strings["call-back"] == "Rappeler"
    write_changed(admin / "fr.toml", '[strings]\ncall-back = "Rappeler\n')
    assert found.get("fr").strings["call-back"] == "Rappeler"
    [problem] = found.problems
    assert str(admin / "fr.toml") in problem
    assert "line 2" in problem


def test_a_broken_override_leaves_the_packaged_file_in_use(admin: Path) -> None:
    write_changed(admin / "de.toml", "[strings\n")
    found = languages(admin)
    assert found.get("de").strings["call-back"] == "Zurückrufen"
    assert len(found.problems) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[format]\ndate = "{weekday} {bogus}"\n', "format.date: unknown field {bogus}"),
        ('[format]\ntime = "{hour:zz}"\n', "format.time: not a valid pattern"),
        ('[format]\nmonths = ["Jan"]\n', "format.months: must be a list of 12 strings"),
        ('[format]\nsoon = "x"\n', "format.soon: unknown key"),
        ('[strings]\nCallBack = "x"\n', "strings.CallBack: a key must be lower-case"),
        ('[strings]\ncall-back = "a\\u0000b"\n', "must not contain control characters"),
        ("[strings]\ncall-back = 3\n", "strings.call-back: must be a string"),
        ('[colours]\nred = "x"\n', "unknown table 'colours'"),
    ],
)
def test_a_file_with_a_bad_value_is_rejected_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(LanguageError, match=r"^fr\.toml: ") as raised:
        parse_language(text, "fr.toml")
    assert message in str(raised.value)


def test_a_file_not_named_after_a_language_is_rejected(admin: Path) -> None:
    write_changed(admin / "my language.toml", '[strings]\ncall-back = "x"\n')
    [problem] = languages(admin).problems
    assert "must be a language code" in problem

"""vCard sources (SPEC §8): files and folders of cards in vCard 2.1, 3.0 and 4.0, every
field that a Contact has, numbers matched in any form, broken cards skipped with a
warning, and files read again when they change."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from missedcall.config import parse_config
from missedcall.directory import vcard_source
from missedcall.directory.contacts import (
    Contact,
    ContactDirectory,
    ContactSourceError,
    CsvContacts,
    build_sources,
)
from missedcall.directory.ldap_source import LdapContacts
from missedcall.directory.numbering import Numbering
from missedcall.directory.vcard_source import VcardContacts

BERLIN = Numbering(country="DE", area_code="30", did_prefix="+4930555")
JANE = "+49891234567"


def card(*lines: str, version: str = "3.0") -> str:
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD", ""])


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def touch(path: Path, text: str, mtime_ns: int) -> None:
    """Rewrite ``path`` with a given mtime: changes are seen however coarse the clock is."""
    write(path, text)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "missedcall.contacts" and r.levelno == logging.WARNING
    ]


def name_of(source: VcardContacts, number: str) -> str | None:
    contact = source.find(number)
    return contact.name if contact else None


JANE_30 = card(
    "N:Doe;Jane;;Dr.;",
    "FN:Dr. Jane Doe",
    "ORG:ACME GmbH;Purchasing;Team B",
    "TITLE:Head of Purchasing",
    "EMAIL;TYPE=INTERNET:jane@private.example",
    "EMAIL;TYPE=INTERNET,PREF:jane.doe@acme.example",
    "TEL;TYPE=WORK,VOICE:+49 89 1234567",
    "TEL;TYPE=CELL:0170 1234567",
    "TEL;TYPE=HOME:030 7654321",
    "TEL;TYPE=WORK,FAX:089 1234568",
    "ADR;TYPE=WORK:;;Hauptstraße 1;München;Bayern;80331;Germany",
    "NOTE:Key account since 2019\\nprefers mornings",
)


# ---------------------------------------------------------------------------
# Files, versions and fields


def test_a_3_0_card_becomes_a_contact_with_every_field_it_has(tmp_path: Path) -> None:
    path = write(tmp_path / "jane.vcf", JANE_30)
    assert VcardContacts(path, BERLIN).find(JANE) == Contact(
        name="Dr. Jane Doe",
        company="ACME GmbH",
        email="jane.doe@acme.example",
        phones=(
            ("work", JANE),
            ("mobile", "+491701234567"),
            ("home", "+49307654321"),
            ("fax", "+49891234568"),
        ),
        street="Hauptstraße 1",
        city="München",
        postal_code="80331",
        country="Germany",
        title="Head of Purchasing",
        department="Purchasing, Team B",
        note="Key account since 2019\nprefers mornings",
        source=f"{path}:1",
    )


def test_one_file_of_several_cards_finds_each_by_each_of_its_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "all.vcf",
        JANE_30
        + card("FN:John Roe", "TEL;TYPE=CELL:+49 171 5550001", "TEL:+44 20 7946 0000")
        + card("FN:Max Muster", "TEL:030 1234567"),
    )
    source = VcardContacts(path, BERLIN)
    assert name_of(source, "+491701234567") == "Dr. Jane Doe"
    assert name_of(source, "+491715550001") == "John Roe"
    assert name_of(source, "+442079460000") == "John Roe"
    assert name_of(source, "+49301234567") == "Max Muster"
    assert source.find("+49309999999") is None
    john = source.find("+442079460000")
    assert john is not None and john.source == f"{path}:16"


def test_a_4_0_card_with_tel_uris_quoted_types_and_pref(tmp_path: Path) -> None:
    path = write(
        tmp_path / "ann.vcf",
        card(
            "FN:Ann Bee",
            "ORG:Bee & Co. KG",
            'TEL;VALUE=uri;TYPE="work,voice";PREF=1:tel:+49-89-1234567;ext=12',
            'TEL;VALUE=uri;TYPE="cell":tel:+49-170-1234567',
            "TEL;TYPE=fax:+49 89 1234568",
            "EMAIL;TYPE=work:ann@bee.example",
            "ADR;TYPE=work:;;Marienplatz 8;München;;80331;Deutschland",
            version="4.0",
        ),
    )
    contact = VcardContacts(path, BERLIN).find(JANE)
    assert contact is not None
    assert (contact.name, contact.company, contact.email) == (
        "Ann Bee",
        "Bee & Co. KG",
        "ann@bee.example",
    )
    assert contact.phones == (
        ("work", JANE),
        ("mobile", "+491701234567"),
        ("fax", "+49891234568"),
    )
    assert (contact.street, contact.city, contact.postal_code, contact.country) == (
        "Marienplatz 8",
        "München",
        "80331",
        "Deutschland",
    )


def test_a_2_1_card_with_bare_types_quoted_printable_and_no_fn(tmp_path: Path) -> None:
    path = write(
        tmp_path / "old-phone.vcf",
        card(
            "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen",
            "TEL;WORK;VOICE:089 1234567",
            "TEL;CELL:0170 1234567",
            "TEL;HOME;FAX:030 7654321",
            version="2.1",
        ),
    )
    contact = VcardContacts(path, BERLIN).find(JANE)
    assert contact is not None
    assert contact.name == "Jürgen Müller"
    assert contact.phones == (
        ("work", JANE),
        ("mobile", "+491701234567"),
        ("fax", "+49307654321"),
    )


def test_escapes_and_unicode_are_read_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path / "unicode.vcf",
        "\ufeff"  # a byte order mark, as some exporters write
        + card(
            "FN:Müller\\, Jürgen; 王小明 🙂",
            "ORG:Société Générale\\; Paris",
            "NOTE:Zeile 1\\nZeile 2\\, mit Komma\\\\Backslash",
            "TEL:089 1234567",
        ),
    )
    contact = VcardContacts(path, BERLIN).find(JANE)
    assert contact is not None
    assert contact.name == "Müller, Jürgen; 王小明 🙂"
    assert contact.company == "Société Générale; Paris"
    assert contact.note == "Zeile 1\nZeile 2, mit Komma\\Backslash"


def test_a_file_that_is_not_utf8_is_read_as_windows_1252(tmp_path: Path) -> None:
    path = write(
        tmp_path / "outlook.vcf",
        card("FN:Jürgen Müller", "TEL:089 1234567", version="2.1"),
        "cp1252",
    )
    assert name_of(VcardContacts(path, BERLIN), JANE) == "Jürgen Müller"


def test_cards_without_a_phone_number_are_left_out_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path / "mixed.vcf",
        card("FN:Mail Only", "EMAIL:only@mail.example") + card("FN:Jane", "TEL:089 1234567"),
    )
    with caplog.at_level(logging.WARNING, "missedcall.contacts"):
        assert name_of(VcardContacts(path, BERLIN), JANE) == "Jane"
    assert warnings(caplog) == []


@pytest.mark.parametrize(
    "written",
    [
        "+49 89 1234567",
        "089/1234567",
        "0049891234567",
        "(089) 123-4567",
        "+49 (0)89 1234567",
        "tel:+49-89-1234567",
    ],
)
@pytest.mark.parametrize("asked", [JANE, "089 1234567", "0049 89 1234567"])
def test_numbers_in_national_and_international_forms_match(
    tmp_path: Path, written: str, asked: str
) -> None:
    path = write(tmp_path / "jane.vcf", card("FN:Jane Doe", f"TEL:{written}"))
    assert name_of(VcardContacts(path, BERLIN), asked) == "Jane Doe"


def test_a_local_number_gets_the_area_code(tmp_path: Path) -> None:
    path = write(tmp_path / "local.vcf", card("FN:Bakery", "TEL:7654321"))
    assert name_of(VcardContacts(path, BERLIN), "+49307654321") == "Bakery"


# ---------------------------------------------------------------------------
# Folders


def test_a_folder_of_vcf_files_is_one_source_and_other_files_are_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "cards"
    folder.mkdir()
    write(folder / "a.vcf", card("FN:Anna", "TEL:089 1234567"))
    write(folder / "B.VCF", card("FN:Bert", "TEL:0170 1234567"))
    write(folder / "c.vcf", card("FN:Carl, second with Anna's number", "TEL:+49891234567"))
    write(folder / "notes.txt", card("FN:Not a vcf file", "TEL:089 9999999"))
    write(folder / ".hidden.vcf", card("FN:An editor's backup", "TEL:089 8888888"))
    (folder / "sub.vcf").mkdir()
    source = VcardContacts(folder, BERLIN)
    assert name_of(source, JANE) == "Anna"  # files in name order; the first card wins
    assert name_of(source, "+491701234567") == "Bert"
    assert source.find("+49899999999") is None
    assert source.find("+49898888888") is None


def test_an_empty_folder_finds_nothing(tmp_path: Path) -> None:
    assert VcardContacts(tmp_path, BERLIN).find(JANE) is None


# ---------------------------------------------------------------------------
# Broken cards and missing files


def test_a_broken_card_is_skipped_with_a_warning_naming_file_card_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path / "broken.vcf",
        card("FN:First", "TEL:089 1234567")
        + card("FN:Second", "this line has no colon", "TEL:0170 1234567")
        + card("ORG:", "TEL:030 7654321")
        + card("FN:Fourth", "TEL:+44 20 7946 0000")
        + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Never ends\r\nTEL:+33 1 23 45 67 89\r\n",
    )
    with caplog.at_level(logging.WARNING, "missedcall.contacts"):
        source = VcardContacts(path, BERLIN)
        assert name_of(source, JANE) == "First"
        assert name_of(source, "+442079460000") == "Fourth"
        assert source.find("+491701234567") is None
        assert source.find("+49307654321") is None
    found = warnings(caplog)
    assert len(found) == 3
    assert found[0].startswith(f"{path}, card 2 (line 6): skipped: not a vCard: ")
    assert found[1] == f"{path}, card 3 (line 12): skipped: no name (FN, N or ORG)"
    assert found[2] == f"{path}, card 5 (line 22): skipped: no END:VCARD"


def test_warnings_are_bounded_per_reading(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path / "bad.vcf", card("broken") * 25 + card("FN:Jane", "TEL:089 1234567"))
    with caplog.at_level(logging.WARNING, "missedcall.contacts"):
        assert name_of(VcardContacts(path, BERLIN), JANE) == "Jane"
    found = warnings(caplog)
    assert len(found) == 11
    assert found[-1] == "… and 15 more problems like these"


def test_a_missing_path_is_an_error_at_lookup_and_the_search_goes_on(tmp_path: Path) -> None:
    gone = VcardContacts(tmp_path / "gone.vcf", BERLIN)
    with pytest.raises(ContactSourceError, match=r"gone\.vcf: cannot read"):
        gone.find(JANE)
    csv = CsvContacts(write(tmp_path / "c.csv", "name,phone\nJane CSV,089 1234567\n"), BERLIN)
    contact = ContactDirectory([gone, csv], BERLIN).find(JANE)
    assert contact is not None and contact.name == "Jane CSV"


def test_an_unreadable_file_in_a_folder_is_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "a.vcf", card("FN:Jane", "TEL:089 1234567"))
    write(tmp_path / "b.vcf", card("FN:Locked", "TEL:0170 1234567"))
    read_bytes = Path.read_bytes

    def locked(path: Path) -> bytes:  # tests run as root, who can read any file
        if path.name == "b.vcf":
            raise PermissionError(13, "Permission denied")
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", locked)
    source = VcardContacts(tmp_path, BERLIN)
    with caplog.at_level(logging.WARNING, "missedcall.contacts"):
        for _ in range(3):
            assert name_of(source, JANE) == "Jane"
            assert source.find("+491701234567") is None
    assert warnings(caplog) == [f"{tmp_path / 'b.vcf'}: skipped: cannot read: Permission denied"]


# ---------------------------------------------------------------------------
# Changes on disk


def test_a_changed_file_is_read_again_without_restart(tmp_path: Path) -> None:
    path = tmp_path / "contacts.vcf"
    touch(path, card("FN:Jane Doe", "TEL:089 1234567"), 1_000_000_000)
    source = VcardContacts(path, BERLIN)
    assert name_of(source, JANE) == "Jane Doe"
    touch(path, card("FN:Jane Smith", "TEL:089 1234567"), 2_000_000_000)  # same size
    assert name_of(source, JANE) == "Jane Smith"
    path.unlink()
    with pytest.raises(ContactSourceError):
        source.find(JANE)
    touch(path, card("FN:Jane Back", "TEL:089 1234567"), 3_000_000_000)
    assert name_of(source, JANE) == "Jane Back"


def test_a_folder_sees_files_added_changed_and_removed(tmp_path: Path) -> None:
    touch(tmp_path / "a.vcf", card("FN:Anna", "TEL:089 1234567"), 1_000_000_000)
    source = VcardContacts(tmp_path, BERLIN)
    assert source.find("+491701234567") is None
    touch(tmp_path / "b.vcf", card("FN:Bert", "TEL:0170 1234567"), 1_000_000_000)
    assert name_of(source, "+491701234567") == "Bert"
    touch(tmp_path / "b.vcf", card("FN:Berta", "TEL:0170 1234567"), 2_000_000_000)
    assert name_of(source, "+491701234567") == "Berta"
    (tmp_path / "a.vcf").unlink()
    assert source.find(JANE) is None


def test_only_changed_files_are_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    parse = vcard_source.parse_vcards

    def counting(text: str, origin: str, numbering: Numbering) -> tuple[list[Contact], list[str]]:
        parsed.append(Path(origin).name)
        return parse(text, origin, numbering)

    monkeypatch.setattr(vcard_source, "parse_vcards", counting)
    touch(tmp_path / "a.vcf", card("FN:Anna", "TEL:089 1234567"), 1_000_000_000)
    touch(tmp_path / "b.vcf", card("FN:Bert", "TEL:0170 1234567"), 1_000_000_000)
    source = VcardContacts(tmp_path, BERLIN)
    for _ in range(3):
        assert name_of(source, JANE) == "Anna"
    touch(tmp_path / "b.vcf", card("FN:Berta", "TEL:0170 1234567"), 2_000_000_000)
    assert name_of(source, "+491701234567") == "Berta"
    assert parsed == ["a.vcf", "b.vcf", "b.vcf"]


# ---------------------------------------------------------------------------
# Configuration


def test_build_sources_makes_every_kind_of_source_without_touching_it(tmp_path: Path) -> None:
    config = parse_config(
        """
        [[contacts.sources]]
        type = "vcard"
        path = "cards"
        [[contacts.sources]]
        type = "ldap"
        url = "ldap://127.0.0.1:9"
        base = "dc=example,dc=org"
        [[contacts.sources]]
        type = "csv"
        path = "contacts.csv"
        """,
        base_dir=tmp_path,
    )
    sources = build_sources(config.contacts, BERLIN)
    assert [type(s) for s in sources] == [VcardContacts, LdapContacts, CsvContacts]
    (tmp_path / "cards").mkdir()
    write(tmp_path / "cards" / "jane.vcf", card("FN:Jane Doe", "TEL:089 1234567"))
    assert isinstance(sources[0], VcardContacts)
    assert name_of(sources[0], JANE) == "Jane Doe"

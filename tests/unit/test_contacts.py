"""Contact search (SPEC §8): CSV files read forgivingly and again when they change,
sources asked in order, answers cached for a while, a failing source skipped."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from missedcall.directory.contacts import (
    CSV_COLUMNS,
    Contact,
    ContactDirectory,
    ContactSourceError,
    CsvContacts,
)
from missedcall.directory.numbering import Numbering

BERLIN = Numbering(country="DE", area_code="30", did_prefix="+4930555")
JANE = "+49891234567"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def csv_source(tmp_path: Path, text: str) -> CsvContacts:
    return CsvContacts(write(tmp_path / "contacts.csv", text), BERLIN)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "missedcall.contacts" and r.levelno == logging.WARNING
    ]


# ---------------------------------------------------------------------------
# CSV files


def test_a_csv_row_becomes_a_contact_with_every_documented_column(tmp_path: Path) -> None:
    source = csv_source(
        tmp_path,
        "name,company,email,phone,mobile,home,fax,street,city,postal_code,country,"
        "title,department,note\n"
        "Jane Doe,ACME GmbH,jane@acme.example,+49 89 1234567,0170 1234567,030 7654321,"
        "089 1234568,Hauptstr. 1,München,80331,Germany,Dr.,Sales,key account\n",
    )
    assert source.find(JANE) == Contact(
        name="Jane Doe",
        company="ACME GmbH",
        email="jane@acme.example",
        phones=(
            ("work", JANE),
            ("mobile", "+491701234567"),
            ("home", "+49307654321"),
            ("fax", "+49891234568"),
        ),
        street="Hauptstr. 1",
        city="München",
        postal_code="80331",
        country="Germany",
        title="Dr.",
        department="Sales",
        note="key account",
        source=f"{tmp_path / 'contacts.csv'}:2",
    )


@pytest.mark.parametrize("written", ["+49 89 1234567", "089/1234567", "0049891234567"])
@pytest.mark.parametrize("asked", [JANE, "089 1234567", "0049 89 1234567"])
def test_numbers_are_normalised_in_the_file_and_in_the_question(
    tmp_path: Path, written: str, asked: str
) -> None:
    source = csv_source(tmp_path, f"name,phone\nJane Doe,{written}\n")
    contact = source.find(asked)
    assert contact is not None and contact.name == "Jane Doe"


def test_every_number_of_a_contact_finds_it(tmp_path: Path) -> None:
    source = csv_source(tmp_path, "name,phone,mobile\nJane Doe,089 1234567,0170 1234567\n")
    assert source.find(JANE) is source.find("+491701234567")
    assert source.find("+49301234999") is None


def test_a_semicolon_file_with_a_byte_order_mark_as_excel_writes_it(tmp_path: Path) -> None:
    text = 'Name;Company;Phone;Postal Code\n"Doe, Jane";ACME;089 1234567;80331\n'
    source = CsvContacts(write(tmp_path / "excel.csv", text, "utf-8-sig"), BERLIN)
    contact = source.find(JANE)
    assert contact is not None
    assert (contact.name, contact.company, contact.postal_code) == ("Doe, Jane", "ACME", "80331")


def test_a_comma_file_may_quote_the_delimiter_of_the_other_kind(tmp_path: Path) -> None:
    source = csv_source(tmp_path, 'name,phone,note\nJane Doe,089 1234567,"a;b"\n')
    contact = source.find(JANE)
    assert contact is not None and contact.note == "a;b"


def test_without_a_name_the_company_names_the_contact(tmp_path: Path) -> None:
    source = csv_source(tmp_path, "name,company,phone\n,ACME GmbH,089 1234567\n")
    contact = source.find(JANE)
    assert contact is not None and (contact.name, contact.company) == ("ACME GmbH", "ACME GmbH")


def test_the_first_row_with_a_number_wins(tmp_path: Path) -> None:
    source = csv_source(tmp_path, "name,phone\nSwitchboard,089 1234567\nJane,089 1234567\n")
    contact = source.find(JANE)
    assert contact is not None and contact.name == "Switchboard"


def test_malformed_rows_are_skipped_with_a_warning_naming_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        b"name,phone,email\n"
        b"Jane Doe,089 1234567,jane@acme.example\n"  # line 2: good
        b",030 111111,\n"  # line 3: no name
        b"Nobody,,\n"  # line 4: no number
        b"Too Many,030 222222,a@b.example,surplus\n"  # line 5: more fields than columns
        b"M\xfcller,030 333333,\n"  # line 6: Latin-1, not UTF-8
        b'"Multi\nLine",030 444444,\n'  # lines 7-8: good, a quoted line break
        b"\n"  # blank: ignored silently
        b"Last,030 555555,\n"  # line 10: good
    )
    source = CsvContacts(path, BERLIN)
    with caplog.at_level(logging.WARNING, "missedcall.contacts"):
        assert source.find(JANE) is not None
    assert warnings(caplog) == [
        f"{path}, line 3: skipped: no name or company",
        f"{path}, line 4: skipped: no phone number",
        f"{path}, line 5: skipped: 4 fields, but the header has 3 columns",
        f"{path}, line 6: skipped: not UTF-8; save the file as 'CSV UTF-8'",
    ]
    multi = source.find("+4930444444")
    assert multi is not None and multi.source == f"{path}:7"
    last = source.find("+4930555555")
    assert last is not None and last.source == f"{path}:10"
    assert source.find("+4930111111") is None


def test_values_that_are_not_what_their_column_says_are_left_out_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = csv_source(
        tmp_path, "name,phone,mobile,email,shoe size\nJane,089 1234567,n/a,not-an-address,42\n"
    )
    with caplog.at_level(logging.WARNING, "missedcall.contacts"):
        contact = source.find(JANE)
    assert contact is not None
    assert (contact.phones, contact.email) == ((("work", JANE),), None)
    path = tmp_path / "contacts.csv"
    assert warnings(caplog) == [
        f"{path}, line 1: columns ignored: shoe size",
        f"{path}, line 2: mobile 'n/a' is not a phone number; left out",
        f"{path}, line 2: email 'not-an-address' is not an e-mail address; left out",
    ]


def test_warnings_about_many_bad_rows_are_capped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = csv_source(tmp_path, "name,phone\n" + "Nobody,\n" * 25 + "Jane,089 1234567\n")
    with caplog.at_level(logging.WARNING, "missedcall.contacts"):
        assert source.find(JANE) is not None
    logged = warnings(caplog)
    assert len(logged) == 11
    assert logged[-1] == "… and 15 more problems like these"


def test_the_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    source = csv_source(tmp_path, "name,phone\nJane Doe,089 1234567\n")
    assert source.find(JANE) is not None
    path = write(tmp_path / "contacts.csv", "name,phone\nJohn Roe,089 1234567\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    contact = source.find(JANE)
    assert contact is not None and contact.name == "John Roe"


def test_a_missing_file_fails_at_lookup_not_at_start(tmp_path: Path) -> None:
    source = CsvContacts(tmp_path / "missing.csv", BERLIN)
    with pytest.raises(ContactSourceError, match=r"missing\.csv: cannot read"):
        source.find(JANE)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty; a header row is required"),
        ("\n\n", "empty; a header row is required"),
        ("Jane Doe,089 1234567\n", "line 1: must be the header row"),
        ("name,email\nJane,jane@acme.example\n", "line 1: must be the header row"),
    ],
)
def test_a_file_without_a_usable_header_fails_at_lookup(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ContactSourceError, match=message):
        csv_source(tmp_path, text).find(JANE)


# ---------------------------------------------------------------------------
# The directory: order, cache, failures


class FakeSource:
    """A source that knows some contacts by number and counts the questions."""

    def __init__(self, contacts: dict[str, Contact] | None = None) -> None:
        self.contacts = contacts or {}
        self.asked: list[str] = []

    def find(self, number: str) -> Contact | None:
        self.asked.append(number)
        return self.contacts.get(number)


class BrokenSource:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def __repr__(self) -> str:
        return "BrokenSource()"

    def find(self, number: str) -> Contact | None:
        raise self.error


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sources_are_asked_in_order_and_the_first_hit_wins() -> None:
    first = FakeSource({"+4930111": Contact("First")})
    second = FakeSource({JANE: Contact("Second"), "+4930111": Contact("Hidden")})
    directory = ContactDirectory([first, second], BERLIN)
    assert directory.find("+4930111") == Contact("First")
    assert directory.find(JANE) == Contact("Second")
    assert second.asked == [JANE]


def test_the_number_is_normalised_before_sources_are_asked() -> None:
    source = FakeSource({JANE: Contact("Jane")})
    directory = ContactDirectory([source], BERLIN, ttl_seconds=0)
    assert directory.find("089 1234567") == Contact("Jane")
    assert source.asked == [JANE]


@pytest.mark.parametrize("number", ["", "anonymous", "<unknown>"])
def test_what_is_not_a_number_is_not_searched(number: str) -> None:
    source = FakeSource()
    assert ContactDirectory([source], BERLIN).find(number) is None
    assert source.asked == []


def test_hits_and_misses_are_cached_for_the_ttl_whatever_form_the_number_takes() -> None:
    clock = Clock()
    source = FakeSource({JANE: Contact("Jane")})
    directory = ContactDirectory([source], BERLIN, ttl_seconds=300, clock=clock)
    assert directory.find(JANE) == Contact("Jane")
    assert directory.find("+49301234999") is None
    clock.now += 299
    assert directory.find("089 1234567") == Contact("Jane")
    assert directory.find("030 1234999") is None
    assert source.asked == [JANE, "+49301234999"]
    clock.now += 1
    directory.find(JANE)
    directory.find("+49301234999")
    assert source.asked == [JANE, "+49301234999", JANE, "+49301234999"]


def test_a_ttl_of_zero_caches_nothing() -> None:
    source = FakeSource()
    directory = ContactDirectory([source], BERLIN, ttl_seconds=0, clock=Clock())
    directory.find(JANE)
    directory.find(JANE)
    assert source.asked == [JANE, JANE]


def test_the_cache_is_bounded_and_forgets_the_oldest_first() -> None:
    source = FakeSource()
    directory = ContactDirectory([source], BERLIN, clock=Clock(), max_entries=2)
    for number in ("+4930111", "+4930222", "+4930333", "+4930111"):
        directory.find(number)
    assert source.asked == ["+4930111", "+4930222", "+4930333", "+4930111"]


def test_a_failing_source_is_skipped_with_one_warning_and_the_next_one_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = BrokenSource(ContactSourceError("contacts.csv: cannot read: No such file"))
    good = FakeSource({JANE: Contact("Jane")})
    directory = ContactDirectory([broken, good], BERLIN, ttl_seconds=0)
    with caplog.at_level(logging.INFO, "missedcall.contacts"):
        assert directory.find(JANE) == Contact("Jane")
        assert directory.find(JANE) == Contact("Jane")
    assert warnings(caplog) == [
        "contact source BrokenSource() skipped: contacts.csv: cannot read: No such file"
    ]


def test_any_exception_of_a_source_is_contained_and_recovery_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = BrokenSource(TimeoutError())
    directory = ContactDirectory([broken], BERLIN, ttl_seconds=0)
    with caplog.at_level(logging.INFO, "missedcall.contacts"):
        assert directory.find(JANE) is None
        broken.find = FakeSource().find  # type: ignore[method-assign]
        assert directory.find(JANE) is None
    assert [r.getMessage() for r in caplog.records] == [
        "contact source BrokenSource() skipped: TimeoutError",
        "contact source BrokenSource() works again",
    ]


def test_a_csv_source_whose_file_is_missing_does_not_stop_the_search(tmp_path: Path) -> None:
    later = FakeSource({JANE: Contact("Jane")})
    directory = ContactDirectory([CsvContacts(tmp_path / "gone.csv", BERLIN), later], BERLIN)
    assert directory.find(JANE) == Contact("Jane")


# ---------------------------------------------------------------------------
# The documentation

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_csv_column_is_documented() -> None:
    text = (DOCS / "contacts.md").read_text(encoding="utf-8")
    assert [c for c in CSV_COLUMNS if f"| `{c}` |" not in text] == []


def test_the_example_file_loads_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    source = CsvContacts(DOCS / "contacts.example.csv", BERLIN)
    with caplog.at_level(logging.WARNING, "missedcall.contacts"):
        contact = source.find(JANE)
    assert warnings(caplog) == []
    assert contact is not None and contact.name == "Jane Doe"

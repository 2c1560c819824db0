"""LdapContacts against a real OpenLDAP server (tests/support/slapd.py) on 127.0.0.1.

Covers: numbers stored in any form found in any form; both presets' attribute
layouts (Active Directory's names simulated on inetOrgPerson entries with
``extensibleObject``) and overrides; anonymous and DN/password binds; a wrong
password, a stopped and a frozen server as errors within the timeout, with the
search going on to the next source; StartTLS and ldaps:// with certificates
verified; the index read again after its time or on demand; the entry caps.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import ldap3  # type: ignore[import-untyped]  # no type hints; used to change the directory
import pytest

from missedcall.config import LdapSource, parse_config
from missedcall.directory.contacts import (
    Contact,
    ContactDirectory,
    ContactSourceError,
    CsvContacts,
)
from missedcall.directory.ldap_source import LdapContacts
from missedcall.directory.numbering import Numbering
from tests.support.slapd import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    SUFFIX,
    Certificates,
    Slapd,
    make_certificates,
    tool,
)

SLAPD_MISSING = "slapd (OpenLDAP) is not installed: apt-get install slapd ldap-utils"
if tool("slapd") is None:
    if os.environ.get("CI") == "true":  # .ci/run installs it: CI must not skip these tests
        pytest.fail(f"{SLAPD_MISSING}; .ci/run must install it", pytrace=False)
    pytest.skip(SLAPD_MISSING, allow_module_level=True)

pytestmark = pytest.mark.timeout(60)

BERLIN = Numbering(country="DE", area_code="30", did_prefix="+4930555")
JANE = "+49891234567"
ANNA = "+49895550100"
PAULA = "+49895550199"
AD_CATEGORY = "CN=Person,CN=Schema,CN=Configuration,DC=example,DC=org"
# msuser.schema gives objectCategory no equality rule, so (objectCategory=person) cannot
# match in OpenLDAP as it does in Active Directory; a presence test stands in for it.
AD_FILTER = "(&(objectClass=person)(objectCategory=*))"
READER_DN, READER_PASSWORD = f"cn=reader,{SUFFIX}", "reader-secret"
LIMITED_DN, LIMITED_PASSWORD = f"cn=limited,{SUFFIX}", "limited-secret"

Entry = Mapping[str, str | Sequence[str]]

ENTRIES: dict[str, Entry] = {
    SUFFIX: {"objectClass": ["dcObject", "organization"], "o": "Example", "dc": "example"},
    READER_DN: {
        "objectClass": ["organizationalRole", "simpleSecurityObject"],
        "userPassword": READER_PASSWORD,
    },
    LIMITED_DN: {
        "objectClass": ["organizationalRole", "simpleSecurityObject"],
        "userPassword": LIMITED_PASSWORD,
    },
    f"ou=people,{SUFFIX}": {"objectClass": "organizationalUnit"},
    f"ou=staff,{SUFFIX}": {"objectClass": "organizationalUnit"},
    f"ou=private,{SUFFIX}": {"objectClass": "organizationalUnit"},
    f"cn=Jane Doe,ou=people,{SUFFIX}": {
        "objectClass": "inetOrgPerson",
        "displayName": "Jane Doe",
        "givenName": "Jane",
        "sn": "Doe",
        "o": "ACME GmbH",
        "ou": "Purchasing",
        "title": "Head of Purchasing",
        "mail": "jane.doe@acme.example",
        "telephoneNumber": "089 1234567",
        "mobile": "+49 (170) 123-4567",
        "homePhone": "0049 30 7654321",
        "facsimileTelephoneNumber": "+49-89-1234568",
        "street": "Hauptstraße 1",
        "l": "München",
        "postalCode": "80331",
    },
    f"cn=Max Muster,ou=people,{SUFFIX}": {
        "objectClass": "inetOrgPerson",
        "sn": "Muster",
        "telephoneNumber": ["n/a", "7654322"],  # a local number: the area code is added
    },
    f"cn=Müller\\, Jürgen (*),ou=people,{SUFFIX}": {
        "objectClass": "inetOrgPerson",
        "sn": "Müller",
        "telephoneNumber": "+49 30 1234567",
    },
    f"cn=No Phone,ou=people,{SUFFIX}": {"objectClass": "inetOrgPerson", "sn": "Phone"},
    f"cn=Anna Admin,ou=staff,{SUFFIX}": {
        "objectClass": ["inetOrgPerson", "extensibleObject"],  # Active Directory's names
        "objectCategory": AD_CATEGORY,
        "sn": "Admin",
        "givenName": "Anna",
        "displayName": "Anna Admin (IT)",
        "company": "ACME AD GmbH",
        "department": "IT",
        "title": "Administrator",
        "mail": "anna@ad.example",
        "telephoneNumber": "+49 89 5550100",
        "otherTelephone": "089 5550101",
        "mobile": "0171 5550102",
        "ipPhone": "+49 89 5550103",
        "streetAddress": "Leopoldstraße 5",
        "l": "München",
        "postalCode": "80802",
        "co": "Germany",
    },
    f"cn=Paula Private,ou=private,{SUFFIX}": {
        "objectClass": "inetOrgPerson",
        "sn": "Private",
        "telephoneNumber": "+49 89 5550199",
    },
}
ACL = f'access to dn.subtree="ou=private,{SUFFIX}" by users read by * none\naccess to * by * read'
LIMITS = f'limits dn.exact="{LIMITED_DN}" size=2'


def ldif(entries: Mapping[str, Entry]) -> str:
    """LDIF for the entries; values that are not plain ASCII are base64 as RFC 2849 asks."""

    def line(name: str, value: str) -> str:
        if value.isascii() and not value.startswith((" ", ":", "<")):
            return f"{name}: {value}\n"
        return f"{name}:: {base64.b64encode(value.encode()).decode()}\n"

    blocks = []
    for dn, attributes in entries.items():
        lines = [line("dn", dn)]
        for name, values in attributes.items():
            lines += [line(name, v) for v in ([values] if isinstance(values, str) else values)]
        blocks.append("".join(lines))
    return "\n".join(blocks)


def settings(url: str, **values: Any) -> LdapSource:
    return LdapSource(type="ldap", url=url, **{"base": SUFFIX, **values})


def phones_of(contact: Contact | None) -> list[str]:
    return [number for _, number in contact.phones] if contact else []


def admin(server: Slapd) -> Any:
    """A connection as the directory's administrator, to change it under the source."""
    return ldap3.Connection(server.url, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)


def start(folder: Path, certificates: Certificates | None = None) -> Slapd:
    server = Slapd(folder, ldif(ENTRIES), ACL, LIMITS, certificates)
    server.create()
    server.start()
    return server


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """One server for the tests that only read."""
    server = start(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Slapd]:
    """A server of the test's own, to change, stop or freeze."""
    server = start(tmp_path / "slapd")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    certificates = make_certificates(tmp_path_factory.mktemp("certificates"))
    server = start(tmp_path_factory.mktemp("slapd-tls"), certificates)
    yield server
    server.stop()


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "missedcall.contacts" and r.levelno == logging.WARNING
    ]


# ---------------------------------------------------------------------------
# Finding people by number, with both presets


def test_an_inetorgperson_entry_becomes_a_contact_with_every_mapped_field(shared: Slapd) -> None:
    source = LdapContacts(settings(shared.url), BERLIN)
    assert source.find(JANE) == Contact(
        name="Jane Doe",
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
        title="Head of Purchasing",
        department="Purchasing",
        source=f"{shared.url}/cn=Jane Doe,ou=people,{SUFFIX}",
    )


@pytest.mark.parametrize(
    "asked", [JANE, "089 1234567", "0049 89 1234567", "+49 (0)89 123-4567", "0891234567"]
)
def test_numbers_stored_in_any_form_are_found_in_any_form(shared: Slapd, asked: str) -> None:
    source = LdapContacts(settings(shared.url), BERLIN)
    contact = source.find(asked)
    assert contact is not None and contact.name == "Jane Doe"
    for number in ("+491701234567", "+49307654321", "+49891234568"):
        assert source.find(number) == contact


def test_names_fall_back_and_values_that_are_not_numbers_are_left_out(shared: Slapd) -> None:
    source = LdapContacts(settings(shared.url), BERLIN)
    max_muster = source.find("+49307654322")
    assert max_muster is not None
    assert (max_muster.name, phones_of(max_muster)) == ("Max Muster", ["+49307654322"])
    jurgen = source.find("+49301234567")
    assert jurgen is not None and jurgen.name == "Müller, Jürgen (*)"
    assert jurgen.source.startswith(f"{shared.url}/cn=Müller\\")  # the DN as the server writes it
    assert source.find("+49309999999") is None


def test_the_ad_preset_reads_active_directory_attribute_names(shared: Slapd) -> None:
    ad = settings(shared.url, preset="ad", filter=AD_FILTER)
    source = LdapContacts(ad, BERLIN)
    anna = source.find(ANNA)
    assert anna == Contact(
        name="Anna Admin (IT)",
        company="ACME AD GmbH",
        email="anna@ad.example",
        phones=(("work", ANNA), ("work", "+49895550101"), ("mobile", "+491715550102")),
        street="Leopoldstraße 5",  # asked as streetAddress, answered as street by OpenLDAP
        city="München",
        postal_code="80802",
        country="Germany",
        title="Administrator",
        department="IT",
        source=f"{shared.url}/cn=Anna Admin,ou=staff,{SUFFIX}",
    )
    assert source.find("+49895550101") == anna
    assert source.find(JANE) is None  # the filter: only the AD-like entries


def test_attribute_overrides_add_to_the_preset(shared: Slapd) -> None:
    ad = settings(
        shared.url,
        preset="ad",
        filter=AD_FILTER,
        attributes={"phone_work": ["telephoneNumber", "ipPhone"], "name": "cn"},
    )
    anna = LdapContacts(ad, BERLIN).find("+49895550103")
    assert anna is not None
    assert anna.name == "Anna Admin"
    assert phones_of(anna) == [ANNA, "+49895550103", "+491715550102"]  # no otherTelephone now


def test_a_source_from_the_configuration_file(shared: Slapd, tmp_path: Path) -> None:
    config = parse_config(
        f"""
        [[contacts.sources]]
        type = "ldap"
        url = "{shared.url}/"
        base = "ou=people,{SUFFIX}"
        bind_dn = "{READER_DN}"
        password = "{READER_PASSWORD}"
        timeout_seconds = 2.5
        """,
        base_dir=tmp_path,
    )
    (ldap,) = config.contacts.sources
    assert isinstance(ldap, LdapSource)
    contact = LdapContacts(ldap, BERLIN).find(JANE)
    assert contact is not None and contact.name == "Jane Doe"


# ---------------------------------------------------------------------------
# Binding


def test_a_bind_with_dn_and_password_sees_what_anonymous_does_not(shared: Slapd) -> None:
    anonymous = LdapContacts(settings(shared.url), BERLIN)
    reader = LdapContacts(settings(shared.url, bind_dn=READER_DN, password=READER_PASSWORD), BERLIN)
    assert anonymous.find(PAULA) is None
    paula = reader.find(PAULA)
    assert paula is not None and paula.name == "Paula Private"


def test_a_wrong_password_is_a_source_error_that_names_the_dn(shared: Slapd) -> None:
    source = LdapContacts(settings(shared.url, bind_dn=READER_DN, password="wrong"), BERLIN)
    with pytest.raises(ContactSourceError) as raised:
        source.find(JANE)
    assert str(raised.value) == (
        f"{shared.url}: cannot bind as '{READER_DN}': invalidCredentials (result 49)"
    )
    assert "wrong" not in str(raised.value)


# ---------------------------------------------------------------------------
# Servers that are down or frozen


def test_a_stopped_server_fails_at_once_and_the_search_goes_on(
    own: Slapd, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ldap = LdapContacts(settings(own.url, timeout_seconds=1), BERLIN, refresh_seconds=0)
    csv_path = tmp_path / "contacts.csv"
    csv_path.write_text("name,phone\nJane from CSV,089 1234567\n", encoding="utf-8")
    directory = ContactDirectory([ldap, CsvContacts(csv_path, BERLIN)], BERLIN, ttl_seconds=0)
    contact = directory.find(JANE)
    assert contact is not None and contact.name == "Jane Doe"
    own.stop()
    with caplog.at_level(logging.WARNING, "missedcall.contacts"):
        started = time.monotonic()
        contact = directory.find(JANE)
        elapsed = time.monotonic() - started
    assert contact is not None and contact.name == "Jane from CSV"
    assert elapsed < 1
    (warning,) = warnings(caplog)
    assert warning.startswith(f"contact source {ldap!r} skipped: {own.url}: cannot connect: ")


def test_a_frozen_server_fails_within_the_timeout(own: Slapd) -> None:
    source = LdapContacts(settings(own.url, timeout_seconds=1), BERLIN)
    own.pause()
    started = time.monotonic()
    with pytest.raises(ContactSourceError, match="cannot bind"):
        source.find(JANE)
    assert time.monotonic() - started < 2.5
    own.resume()


def test_after_a_failure_the_server_is_asked_again_only_after_the_retry_time(own: Slapd) -> None:
    now = [0.0]
    source = LdapContacts(
        settings(own.url, timeout_seconds=1), BERLIN, retry_seconds=30, clock=lambda: now[0]
    )
    own.stop()
    with pytest.raises(ContactSourceError, match="cannot connect"):
        source.find(JANE)
    own.start()
    now[0] = 29.0
    with pytest.raises(ContactSourceError, match="cannot connect"):  # not asked: still failing
        source.find(JANE)
    now[0] = 30.0
    assert phones_of(source.find(JANE))[0] == JANE


# ---------------------------------------------------------------------------
# Freshness and bounds


def test_the_index_is_read_again_after_its_time_or_on_demand(own: Slapd) -> None:
    now = [0.0]
    source = LdapContacts(settings(own.url), BERLIN, refresh_seconds=300, clock=lambda: now[0])
    assert source.find("+493011112222") is None
    with admin(own) as connection:
        connection.add(
            f"cn=New Colleague,ou=people,{SUFFIX}",
            "inetOrgPerson",
            {"sn": "Colleague", "telephoneNumber": "030 1111 2222"},
        )
        assert connection.result["description"] == "success"
    now[0] = 299.0
    assert source.find("+493011112222") is None  # the index is still the one read at 0
    now[0] = 300.0
    new = source.find("+493011112222")
    assert new is not None and new.name == "New Colleague"
    with admin(own) as connection:
        connection.modify(
            f"cn=New Colleague,ou=people,{SUFFIX}",
            {"telephoneNumber": [(ldap3.MODIFY_REPLACE, ["030 3333 4444"])]},
        )
    source.refresh()
    assert source.find("+493011112222") is None
    assert source.find("+493033334444") is not None


def test_more_entries_than_the_cap_are_cut_with_a_warning(
    shared: Slapd, caplog: pytest.LogCaptureFixture
) -> None:
    source = LdapContacts(settings(shared.url, base=f"ou=people,{SUFFIX}"), BERLIN, max_entries=2)
    with caplog.at_level(logging.WARNING, "missedcall.contacts"):
        source.refresh()
    assert warnings(caplog) == [
        f"{source!r}: only the first 2 entries are used (more than 2 entries); narrow the filter"
    ]
    found = [n for n in (JANE, "+49307654322", "+49301234567") if source.find(n) is not None]
    assert len(found) == 2


def test_the_servers_size_limit_keeps_what_was_read_with_a_warning(
    shared: Slapd, caplog: pytest.LogCaptureFixture
) -> None:
    limited = settings(shared.url, bind_dn=LIMITED_DN, password=LIMITED_PASSWORD)
    source = LdapContacts(limited, BERLIN)
    with caplog.at_level(logging.WARNING, "missedcall.contacts"):
        source.refresh()
    assert warnings(caplog) == [
        f"{source!r}: only the first 2 entries are used (the server's size limit); "
        "narrow the filter"
    ]


def test_a_bad_attribute_name_is_an_error_and_not_sent(shared: Slapd) -> None:
    source = LdapContacts(settings(shared.url, attributes={"fax": ["fax)(cn=*"]}), BERLIN)
    with pytest.raises(ContactSourceError, match=r"'fax\)\(cn=\*' is not an LDAP attribute name"):
        source.find(JANE)


# ---------------------------------------------------------------------------
# TLS


@pytest.fixture
def trusted(tls: Slapd, monkeypatch: pytest.MonkeyPatch) -> Slapd:
    """The test CA trusted the way an administrator would: as the system's CA file."""
    assert tls.certificates is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.certificates.ca))
    return tls


def test_starttls(trusted: Slapd) -> None:
    source = LdapContacts(settings(trusted.url, starttls=True), BERLIN)
    assert phones_of(source.find(JANE))[0] == JANE


def test_ldaps(trusted: Slapd) -> None:
    source = LdapContacts(settings(trusted.tls_url), BERLIN)
    assert phones_of(source.find(JANE))[0] == JANE


@pytest.mark.parametrize("secure", ["starttls", "ldaps"])
def test_a_certificate_that_is_not_trusted_is_refused(
    tls: Slapd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secure: str
) -> None:
    other = make_certificates(tmp_path)  # a CA that did not sign the server's certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(other.ca))
    if secure == "starttls":
        ldap, step = settings(tls.url, starttls=True), "cannot start TLS"
    else:
        ldap, step = settings(tls.tls_url), "cannot connect"
    with pytest.raises(ContactSourceError, match=f"{step}: .*certificate verify failed"):
        LdapContacts(ldap, BERLIN).find(JANE)

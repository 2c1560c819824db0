"""The configuration file: defaults as SPEC says, and every mistake named by key and value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from missedcall.config import (
    Config,
    ConfigError,
    CsvSource,
    LdapSource,
    NotifyExceptions,
    SmtpSettings,
    UserSettings,
    VcardSource,
    check_config_command,
    load_config,
    machine_zone,
    parse_config,
)

ROOT = Path(__file__).resolve().parents[2]
LAB_CONFIG = ROOT / "tests" / "fixtures" / "asterisk" / "config.toml"
EXAMPLE_CONFIG = ROOT / "docs" / "missedcall.example.toml"
REFERENCE = ROOT / "docs" / "configuration.md"


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value.messages


def only_error(text: str) -> str:
    messages = errors_of(text)
    assert len(messages) == 1, messages
    return messages[0]


# --- files that must load ---------------------------------------------------------


def test_the_lab_config_loads_with_its_users_lines_and_devices() -> None:
    config = load_config(LAB_CONFIG)
    assert [user.id for user in config.users] == ["anna", "bernd", "carla", "dora", "emil"]
    assert config.users[0].lines == ("201",)
    assert config.users[3].language is None
    assert config.asterisk.devices == {"Local/01701234567@mobile": "201"}
    assert (config.numbering.country, config.numbering.area_code) == ("DE", "30")
    assert config.numbering.did_prefix == "+4930555"


def test_the_example_config_loads_and_sets_every_section() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert config.smtp is not None
    assert config.smtp.from_ == "Phone system <pbx@example.com>"
    assert [source.type for source in config.contacts.sources] == ["csv", "vcard", "ldap"]
    assert config.notify.exceptions.excluded_numbers == ("+4989777*", "299")
    assert config.server.timezone == "Europe/Berlin"


def test_every_toml_block_of_the_reference_page_loads() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", REFERENCE.read_text(encoding="utf-8"), re.S)
    assert blocks
    for block in blocks:
        parse_config(block)


def test_the_reference_page_documents_every_section_and_key() -> None:
    page = REFERENCE.read_text(encoding="utf-8")
    sections = {name: field.annotation for name, field in Config.model_fields.items()}
    for name in sections:
        assert f"`[{name}]`" in page or f"`[[{name}]]`" in page, name
    models: list[type[BaseModel]] = [
        m for m in sections.values() if isinstance(m, type) and issubclass(m, BaseModel)
    ]
    models += [SmtpSettings, UserSettings, NotifyExceptions, CsvSource, VcardSource, LdapSource]
    for model in models:
        for name, field in model.model_fields.items():
            key = field.alias or name
            written = (f"`{key}`", f"`contacts.{key}`", f".{key}]`", f".{key}]]`")
            assert any(w in page for w in written), f"{model.__name__}.{key}"


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "missedcall.toml"
    path.write_text('[[contacts.sources]]\ntype = "csv"\npath = "contacts.csv"\n')
    source = load_config(path).contacts.sources[0]
    assert isinstance(source, CsvSource)
    assert source.path == tmp_path / "contacts.csv"


# --- defaults ---------------------------------------------------------------------


def test_defaults_are_those_of_the_spec() -> None:
    config = Config.default()
    notify, journal = config.notify, config.journal
    assert (notify.dispatch, notify.recipients, notify.sender) == ("server", "all", "server")
    assert notify.when_answered_elsewhere is False
    assert notify.attach_vcard is True
    assert (notify.link_prefix, notify.language) == ("tel:", "en")
    exceptions = notify.exceptions
    assert (exceptions.internal_calls, exceptions.hidden_number) == (True, True)
    assert (exceptions.no_contact, exceptions.repeated_same_day) == (False, False)
    assert exceptions.repeated_until_logon is False
    assert (exceptions.min_ring_seconds, exceptions.excluded_numbers) == (2, ())
    assert (journal.recipients, journal.when_answered_elsewhere) == ("all", True)
    off = journal.exceptions
    assert not any([off.internal_calls, off.hidden_number, off.no_contact])
    assert not any([off.repeated_same_day, off.repeated_until_logon])
    assert off.min_ring_seconds == 0
    assert (config.asterisk.host, config.asterisk.port) == ("127.0.0.1", 5038)
    assert config.asterisk.max_call_age_seconds == 14400
    assert config.numbering.internal_max_digits == 6
    assert (config.api.host, config.api.port, config.api.metrics_public) == (
        "127.0.0.1",
        8025,
        False,
    )
    assert config.users == ()
    assert config.smtp is None


def test_journal_exceptions_keep_their_own_defaults_when_one_is_set() -> None:
    config = parse_config("[journal.exceptions]\nno_contact = true\n")
    assert config.journal.exceptions.no_contact is True
    assert config.journal.exceptions.internal_calls is False
    assert config.journal.exceptions.min_ring_seconds == 0


def test_the_timezone_defaults_to_the_machines_zone() -> None:
    assert Config.default().server.timezone == machine_zone()
    assert parse_config('[server]\ntimezone = "Europe/Berlin"').server.zone.key == "Europe/Berlin"


def test_a_user_without_name_or_email_is_allowed() -> None:
    user = parse_config('[[users]]\nid = "anna"\n').users[0]
    assert (user.name, user.email, user.notify, user.when) == ("anna", None, True, "always")


def test_smtp_with_implicit_tls_defaults_to_port_465() -> None:
    config = parse_config('[smtp]\nsecurity = "tls"\nfrom = "pbx@example.com"\n')
    assert config.smtp is not None and config.smtp.port == 465


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ('"tel:"', "tel:"),
        ('"phone:"', "phone:"),
        ('"callto:"', "callto:"),
        ('"sip:"', "sip:"),
        ('"abcdefghi:"', "abcdefghi:"),
        ('"x-tel:"', "x-tel:"),
        ("false", None),
    ],
)
def test_link_prefix_accepts_the_known_and_custom_prefixes(written: str, kept: str | None) -> None:
    assert parse_config(f"[notify]\nlink_prefix = {written}\n").notify.link_prefix == kept


def test_ldap_presets_give_filter_and_attributes_and_overrides_win() -> None:
    config = parse_config(
        '[[contacts.sources]]\ntype = "ldap"\nurl = "ldaps://dc1"\nbase = "dc=x"\n'
        'preset = "ad"\nattributes = { phone_work = "ipPhone" }\n'
    )
    source = config.contacts.sources[0]
    assert isinstance(source, LdapSource)
    assert source.search_filter == "(objectCategory=person)"
    assert source.attribute_map["phone_work"] == ("ipPhone",)
    assert source.attribute_map["phone_mobile"] == ("mobile", "otherMobile")


def test_the_area_code_may_be_written_with_the_national_prefix() -> None:
    assert (
        parse_config('[numbering]\ncountry = "de"\narea_code = "030"').numbering.area_code == "30"
    )


# --- one test per kind of mistake -----------------------------------------------


def test_unknown_key_at_top_level() -> None:
    assert only_error("colour = 'blue'\n") == "colour: unknown key"


def test_unknown_key_in_a_section() -> None:
    assert only_error('[smtp]\nfrom = "pbx@example.com"\nprot = 25\n') == "smtp.prot: unknown key"


def test_unknown_key_in_a_nested_section() -> None:
    assert only_error("[notify.exceptions]\nvip = true\n") == "notify.exceptions.vip: unknown key"


def test_unknown_key_in_a_user() -> None:
    assert only_error('[[users]]\nid = "anna"\nmail = "a@b.c"\n') == "users[0].mail: unknown key"


def test_wrong_type_integer() -> None:
    assert (
        only_error('[asterisk]\nport = "abc"\n') == "asterisk.port: must be an integer; got 'abc'"
    )


def test_a_quoted_number_is_not_an_integer() -> None:
    assert only_error('[asterisk]\nport = "5038"\n') == (
        "asterisk.port: must be an integer; got '5038'"
    )


def test_wrong_type_boolean() -> None:
    assert only_error('[notify]\nattach_vcard = "yes"\n') == (
        "notify.attach_vcard: must be true or false; got 'yes'"
    )


def test_wrong_type_section() -> None:
    assert only_error("notify = 3\n") == "notify: must be a table; got 3"


def test_users_written_as_a_table_instead_of_an_array() -> None:
    assert only_error('[users]\nid = "anna"\n') == "users: must be a list; got a table"


def test_out_of_range_port() -> None:
    assert only_error("[api]\nport = 70000\n") == "api.port: must be at most 65535; got 70000"


def test_invalid_enum_value() -> None:
    assert only_error('[notify]\nrecipients = "every"\n') == (
        "notify.recipients: must be one of none, first, last, all; got 'every'"
    )


def test_invalid_enum_value_in_the_journal() -> None:
    assert only_error('[journal]\nrecipients = "everyone"\n').startswith(
        "journal.recipients: must be one of none, first, last, all; got 'everyone'"
    )


def test_invalid_user_when() -> None:
    assert only_error('[[users]]\nid = "a"\nwhen = "never"\n') == (
        "users[0].when: must be one of always, logged_off; got 'never'"
    )


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ('"https://"', "'https://'"),
        ('"tel"', "'tel'"),
        ('":"', "':'"),
        ('"abcdefghij:"', "'abcdefghij:'"),
        ('"1tel:"', "'1tel:'"),
        ('"te l:"', "'te l:'"),
        ('"tel:+49"', "'tel:+49'"),
        ("true", "true"),
        ("1", "1"),
    ],
)
def test_invalid_link_prefix(written: str, shown: str) -> None:
    assert only_error(f"[notify]\nlink_prefix = {written}\n") == (
        "notify.link_prefix: must be 'tel:', 'phone:', 'callto:', a custom prefix of 1 to 9 "
        f"characters ending in ':', or false; got {shown}"
    )


@pytest.mark.parametrize("email", ["anna", "anna@", "@example.com", "an na@example.com", "a@b@c"])
def test_invalid_email(email: str) -> None:
    assert only_error(f'[[users]]\nid = "anna"\nemail = "{email}"\n') == (
        f"users[0].email: must be an e-mail address such as 'anna@example.com'; got {email!r}"
    )


@pytest.mark.parametrize("sender", ["pbx", "a@b.c, d@e.f", "PBX <pbx>", "PBX <pbx@example.com"])
def test_invalid_smtp_from(sender: str) -> None:
    message = only_error(f'[smtp]\nfrom = "{sender}"\n')
    assert message.startswith("smtp.from: must be one e-mail address")
    assert message.endswith(f"got {sender!r}")


def test_invalid_timezone() -> None:
    assert only_error('[server]\ntimezone = "Mars/Olympus"\n') == (
        "server.timezone: must be an IANA time zone name such as 'Europe/Berlin'; "
        "got 'Mars/Olympus'"
    )


def test_a_file_name_is_not_a_timezone() -> None:
    assert only_error('[server]\ntimezone = "localtime"\n').startswith("server.timezone:")


def test_negative_min_ring_seconds() -> None:
    assert only_error("[notify.exceptions]\nmin_ring_seconds = -1\n") == (
        "notify.exceptions.min_ring_seconds: must be at least 0; got -1"
    )


def test_min_ring_seconds_as_a_string() -> None:
    assert only_error('[journal.exceptions]\nmin_ring_seconds = "2"\n') == (
        "journal.exceptions.min_ring_seconds: must be a number; got '2'"
    )


def test_invalid_excluded_number() -> None:
    assert only_error('[notify.exceptions]\nexcluded_numbers = ["+4989*", "*"]\n') == (
        "notify.exceptions.excluded_numbers[1]: must be a number or extension, or a prefix "
        "ending in '*' such as '+4989777*'; got '*'"
    )


def test_line_owned_by_two_users() -> None:
    text = (
        '[[users]]\nid = "anna"\nlines = ["201"]\n[[users]]\nid = "bernd"\nlines = ["202", "201"]\n'
    )
    assert only_error(text) == "users[1].lines[1]: line '201' is owned by both 'anna' and 'bernd'"


def test_line_listed_twice_by_one_user() -> None:
    text = '[[users]]\nid = "anna"\nlines = ["201", "201"]\n'
    assert only_error(text) == "users[0].lines[1]: line '201' is listed twice"


def test_duplicate_user_id() -> None:
    assert only_error('[[users]]\nid = "anna"\n[[users]]\nid = "anna"\n') == (
        "users[1].id: duplicate user id 'anna' (also users[0])"
    )


def test_invalid_user_id() -> None:
    assert only_error('[[users]]\nid = "anna alpha"\n').startswith(
        "users[0].id: must be 1 to 64 letters"
    )


def test_missing_required_key() -> None:
    assert only_error('[[users]]\nname = "Anna"\n') == "users[0].id: required key is missing"


def test_smtp_from_is_required() -> None:
    assert only_error('[smtp]\nhost = "mail"\n') == "smtp.from: required key is missing"


def test_login_needs_both_username_and_password() -> None:
    assert only_error('[smtp]\nfrom = "pbx@example.com"\nusername = "pbx"\n') == (
        "smtp.password: username and password go together; set both"
    )


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[notify]\nrecipients = "all"\nlanguage = \n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (message,) = caught.value.messages
    assert message.startswith(f"{path}, line 3, column 12: TOML syntax error: ")


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "missing.toml")
    assert caught.value.messages == [
        f"{tmp_path / 'missing.toml'}: cannot read: No such file or directory"
    ]


def test_contact_source_of_unknown_type() -> None:
    assert only_error('[[contacts.sources]]\ntype = "xml"\npath = "c.xml"\n') == (
        "contacts.sources[0].type: must be one of csv, vcard, ldap; got 'xml'"
    )


def test_contact_source_without_type() -> None:
    assert only_error('[[contacts.sources]]\npath = "c.csv"\n') == (
        "contacts.sources[0].type: required key is missing (csv, vcard or ldap)"
    )


def test_errors_inside_a_contact_source_name_the_source_not_the_union() -> None:
    assert only_error('[[contacts.sources]]\ntype = "vcard"\npath = "x"\nfolder = "y"\n') == (
        "contacts.sources[0].folder: unknown key"
    )


def test_ldap_mistakes() -> None:
    messages = errors_of(
        '[[contacts.sources]]\ntype = "ldap"\nurl = "http://dc1"\nbase = "dc=x"\n'
        'attributes = { phone = "tel" }\n'
    )
    assert messages[0] == (
        "contacts.sources[0].url: must be 'ldap://host[:port]' or 'ldaps://host[:port]'; "
        "got 'http://dc1'"
    )
    assert messages[1].startswith("contacts.sources[0].attributes.phone: must be one of name,")


def test_ldap_starttls_over_ldaps() -> None:
    text = (
        '[[contacts.sources]]\ntype = "ldap"\nurl = "ldaps://dc1"\nbase = "dc=x"\nstarttls = true\n'
    )
    assert only_error(text).startswith("contacts.sources[0].starttls: must be false")


def test_device_names_must_be_channel_names() -> None:
    assert only_error('[asterisk.devices]\n"anna-mobile" = "201"\n') == (
        "asterisk.devices.anna-mobile: must be a channel name such as 'PJSIP/201'"
    )


def test_device_listed_twice_in_different_case() -> None:
    assert only_error('[asterisk.devices]\n"PJSIP/a" = "201"\n"pjsip/a" = "202"\n') == (
        "asterisk.devices.\"pjsip/a\": is the same device as 'PJSIP/a'"
    )


def test_ami_events_must_be_known_classes_and_include_call() -> None:
    assert only_error('[asterisk]\nevents = ["calls"]\n').startswith(
        "asterisk.events[0]: must be one of system, call,"
    )
    assert only_error('[asterisk]\nevents = ["system"]\n').startswith(
        "asterisk.events: must include 'call'"
    )


def test_numbering_mistakes() -> None:
    assert only_error('[numbering]\ncountry = "XX"\n') == (
        "numbering.country: must be an ISO 3166 country code such as 'DE'; got 'XX'"
    )
    assert only_error('[numbering]\narea_code = "30"\n') == (
        "numbering.area_code: needs numbering.country; got '30'"
    )
    assert only_error('[numbering]\ndid_prefix = "030555"\n') == (
        "numbering.did_prefix: must be an international prefix such as '+4930555'; got '030555'"
    )


def test_all_mistakes_are_reported_at_once() -> None:
    messages = errors_of(
        '[notify]\nrecipients = "x"\nsender = "y"\n[api]\nport = 0\n'
        '[[users]]\nid = "a"\nlines = ["201"]\n[[users]]\nid = "b"\nlines = ["201"]\n'
    )
    assert [m.split(":")[0] for m in messages] == [
        "notify.recipients",
        "notify.sender",
        "users[1].lines[0]",
        "api.port",
    ]


def test_long_values_are_cut_short_in_messages() -> None:
    message = only_error(f'[notify]\nlanguage = "{"x" * 500}"\n')
    assert len(message) < 200 and message.endswith("...")


# --- warnings and check-config ----------------------------------------------------


def test_warnings_name_what_run_would_miss() -> None:
    warnings = load_config(LAB_CONFIG).warnings()
    assert any(w.startswith("smtp:") for w in warnings)
    assert any(w.startswith("asterisk.username:") for w in warnings)
    text = '[[users]]\nid = "anna"\nlines = ["201"]\n[asterisk.devices]\n"PJSIP/x" = "209"\n'
    assert "asterisk.devices.\"PJSIP/x\": line '209' has no user" in parse_config(text).warnings()


def test_check_config_reports_ok_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_config_command(str(LAB_CONFIG)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK: {LAB_CONFIG} (5 users, 5 lines, 1 device, 0 contact sources")


def test_check_config_prints_each_error_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[notify]\nrecipients = "every"\n[smtp]\nprot = 1\nfrom = "a@b.c"\n')
    assert check_config_command(str(path)) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{path}: 2 errors",
        "notify.recipients: must be one of none, first, last, all; got 'every'",
        "smtp.prot: unknown key",
    ]


def test_check_config_warns_about_missing_contact_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[contacts.sources]]\ntype = "csv"\npath = "nowhere.csv"\n')
    assert check_config_command(str(path)) == 0
    assert "warning: contacts.sources[0].path:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("-1", "server.keep_days: must be at least 0; got -1"),
        ('"90"', "server.keep_days: must be an integer; got '90'"),
        ("1.5", "server.keep_days: must be an integer; got 1.5"),
    ],
)
def test_keep_days_is_a_whole_number_of_days_or_zero(written: str, message: str) -> None:
    assert only_error(f"[server]\nkeep_days = {written}\n") == message

"""The configuration file (SPEC §10): one TOML file, every key typed and defaulted.

The schema is a tree of frozen pydantic models, one a section.  Unknown keys
and bad values are errors, and every error names the key path and the value it
got (``notify.recipients: must be one of none, first, last, all; got 'every'``),
because the reader is an administrator looking at the file, not at Python.
Relative paths in the file are taken relative to the file's folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

__all__ = [
    "ADMIN_ACCOUNT",
    "ApiSettings",
    "AsteriskSettings",
    "Config",
    "ConfigError",
    "ContactSource",
    "ContactsSettings",
    "CsvSource",
    "JournalExceptions",
    "JournalSettings",
    "LdapSource",
    "NotifyExceptions",
    "NotifySettings",
    "NumberingSettings",
    "PolicySettings",
    "Recipients",
    "ServerSettings",
    "SmtpSettings",
    "UserSettings",
    "VcardSource",
    "check_config_command",
    "load_config",
    "machine_zone",
    "parse_config",
    "validate_model",
]


class ConfigError(Exception):
    """The configuration cannot be used; ``messages`` says why, one problem each."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


_Problem = tuple[tuple[str | int, ...], str]  # (key path below the model, message)


class _ProblemsError(ValueError):
    """Raised inside a model validator: problems at key paths below that model."""

    def __init__(self, problems: Sequence[_Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(message for _, message in self.problems))


# ---------------------------------------------------------------------------
# Value types

_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_LINE = re.compile(r"[A-Za-z0-9_.+-]{1,40}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?")
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_MAILBOX = re.compile(
    r'(?:[^<>",;@\r\n]*|"[^"\r\n]*")\s*<(?P<address>[^<>\s]+)>|(?P<bare>[^<>\s]+)'
)
# A URI scheme (RFC 3986) of 1 to 9 characters, then the colon.
_LINK_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,8}:")
_EXCLUDED = re.compile(r"\+?[0-9][0-9 ()./-]*\*?")
_HOST = re.compile(r"[^\s/]+")
# An argon2 hash in the PHC string format, as ``missedcall passwd`` prints it.
_ARGON2 = re.compile(
    r"\$argon2(?:id|i|d)\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+"
)
ADMIN_ACCOUNT = "admin"
"""The administrator's login name; no user may have it as id."""


def _user_id(value: str) -> str:
    if not _USER_ID.fullmatch(value):
        raise ValueError(
            "must be 1 to 64 letters, digits or . _ @ -, starting with a letter or digit"
        )
    return value


def _line(value: str) -> str:
    if not _LINE.fullmatch(value):
        raise ValueError("must be an extension of 1 to 40 letters, digits or _ . + -")
    return value


def _language(value: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise ValueError("must be a language code such as 'en', 'de' or 'pt-BR'")
    return value


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError("must be an e-mail address such as 'anna@example.com'")
    return value


def _mailbox(value: str) -> str:
    """An RFC 5322 mailbox, with an optional display name: ``Phone system <pbx@example.com>``."""
    match = _MAILBOX.fullmatch(value.strip())
    address = match and (match["address"] or match["bare"])
    if not address or not _EMAIL.fullmatch(address):
        raise ValueError(
            "must be one e-mail address, optionally with a name: 'PBX <pbx@example.com>'"
        )
    return value


def _host(value: str) -> str:
    if not _HOST.fullmatch(value):
        raise ValueError("must be a host name or IP address")
    return value


def _password_hash(value: str) -> str:
    if not _ARGON2.fullmatch(value):
        raise ValueError(
            "must be an argon2 hash such as '$argon2id$v=19$m=65536,t=3,p=4$…'"
            " (make one with 'missedcall passwd')"
        )
    return value


def _zone(value: str) -> str:
    if value not in _zone_names():
        raise ValueError("must be an IANA time zone name such as 'Europe/Berlin'")
    return value


@cache
def _zone_names() -> frozenset[str]:
    """The IANA zones; ``localtime`` and ``posixrules`` are files in the folder, not zones."""
    return frozenset(available_timezones() - {"localtime", "posixrules"})


def machine_zone() -> str:
    """The IANA name of this machine's time zone (``TZ``, ``/etc/localtime``), else UTC."""
    candidates = [os.environ.get("TZ", "").removeprefix(":")]
    with contextlib.suppress(OSError):
        candidates.append(os.readlink("/etc/localtime").partition("zoneinfo/")[2])
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    return next((name for name in candidates if name in _zone_names()), "UTC")


def _resolve(value: Path, info: ValidationInfo) -> Path:
    """A relative path is relative to the config file's folder (``base_dir`` in the context)."""
    value = value.expanduser()
    base = (info.context or {}).get("base_dir")
    return base / value if base is not None and not value.is_absolute() else value


def _excluded(value: str) -> str:
    if not _EXCLUDED.fullmatch(value):
        raise ValueError(
            "must be a number or extension, or a prefix ending in '*' such as '+4989777*'"
        )
    return value


UserId = Annotated[str, AfterValidator(_user_id)]
Line = Annotated[str, AfterValidator(_line)]
Language = Annotated[str, AfterValidator(_language)]
Email = Annotated[str, AfterValidator(_email)]
Mailbox = Annotated[str, AfterValidator(_mailbox)]
Host = Annotated[str, AfterValidator(_host)]
FilePath = Annotated[Path, AfterValidator(_resolve)]
ExcludedNumber = Annotated[str, AfterValidator(_excluded)]
PasswordHash = Annotated[str, AfterValidator(_password_hash)]
Flag = Annotated[bool, Field(strict=True)]
Port = Annotated[int, Field(strict=True, ge=1, le=65535)]
Seconds = Annotated[float, Field(strict=True, gt=0)]
Recipients = Literal["none", "first", "last", "all"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_Model = TypeVar("_Model", bound=BaseModel)


# ---------------------------------------------------------------------------
# Sections


class ServerSettings(_Section):
    """``[server]``: where state lives, for how long, and which calendar "same day" means."""

    data_dir: FilePath = Path("/var/lib/missedcall")
    timezone: Annotated[str, AfterValidator(_zone)] = Field(default_factory=machine_zone)
    keep_days: Annotated[int, Field(strict=True, ge=0)] = 90  # 0: keep everything

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class NotifyExceptions(_Section):
    """``[notify.exceptions]``: calls and recipients that get no mail (SPEC §5)."""

    internal_calls: Flag = True
    hidden_number: Flag = True
    no_contact: Flag = False
    repeated_same_day: Flag = False
    repeated_until_logon: Flag = False
    min_ring_seconds: Annotated[float, Field(strict=True, ge=0)] = 2
    excluded_numbers: tuple[ExcludedNumber, ...] = ()


class JournalExceptions(NotifyExceptions):
    """``[journal.exceptions]``: the same keys, all off by default (SPEC §6)."""

    internal_calls: Flag = False
    hidden_number: Flag = False
    min_ring_seconds: Annotated[float, Field(strict=True, ge=0)] = 0


class PolicySettings(_Section):
    """Who among the participants of a call is concerned: shared by notify and journal."""

    recipients: Recipients = "all"
    when_answered_elsewhere: Flag = False
    exceptions: NotifyExceptions = Field(default_factory=NotifyExceptions)


class NotifySettings(PolicySettings):
    """``[notify]``: the e-mail policy and how the message is made and sent."""

    dispatch: Literal["server", "client"] = "server"
    sender: Literal["server", "caller", "caller-reply-to"] = "server"
    attach_vcard: Flag = True
    link_prefix: str | None = "tel:"
    language: Language = "en"
    templates_dir: FilePath | None = None
    languages_dir: FilePath | None = None

    @field_validator("link_prefix", mode="before")
    @classmethod
    def _link_prefix(cls, value: object) -> str | None:
        """``false`` (None) means no links; otherwise a URI scheme of 1-9 characters and ':'."""
        if value is False or value is None:
            return None
        if isinstance(value, str) and _LINK_PREFIX.fullmatch(value):
            return value
        raise ValueError(
            "must be 'tel:', 'phone:', 'callto:', "
            "a custom prefix of 1 to 9 characters ending in ':', or false"
        )


class JournalSettings(PolicySettings):
    """``[journal]``: the same policy for the journal, with its own defaults (SPEC §6)."""

    when_answered_elsewhere: Flag = True
    exceptions: JournalExceptions = Field(default_factory=JournalExceptions)


class UserSettings(_Section):
    """``[[users]]``: a person, the lines he owns, and his own choices."""

    id: UserId
    name: str
    email: Email | None = None
    language: Language | None = None
    notify: Flag = True
    when: Literal["always", "logged_off"] = "always"
    lines: tuple[Line, ...] = ()
    password_hash: PasswordHash | None = Field(default=None, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _name_defaults_to_id(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "name" not in data and "id" in data:
            return {**data, "name": data["id"]}
        return data


class CsvSource(_Section):
    """A CSV file of contacts."""

    type: Literal["csv"]
    path: FilePath


class VcardSource(_Section):
    """A vCard file, or a folder of ``.vcf`` files."""

    type: Literal["vcard"]
    path: FilePath


# fmt: off
ContactField = Literal[
    "name", "given_name", "surname", "company", "department", "title", "email",
    "phone_work", "phone_mobile", "phone_home", "fax", "street", "city", "postal_code",
    "country",
]
# fmt: on
LdapPreset = Literal["inetorgperson", "ad"]

# Which entries are contacts, and where their fields are, by directory kind.
LDAP_FILTERS: Mapping[LdapPreset, str] = {
    "inetorgperson": "(objectClass=inetOrgPerson)",
    "ad": "(objectCategory=person)",
}
LDAP_ATTRIBUTES: Mapping[LdapPreset, Mapping[ContactField, tuple[str, ...]]] = {
    "inetorgperson": {
        "name": ("displayName", "cn"),
        "given_name": ("givenName",),
        "surname": ("sn",),
        "company": ("o",),
        "department": ("ou",),
        "title": ("title",),
        "email": ("mail",),
        "phone_work": ("telephoneNumber",),
        "phone_mobile": ("mobile",),
        "phone_home": ("homePhone",),
        "fax": ("facsimileTelephoneNumber",),
        "street": ("street",),
        "city": ("l",),
        "postal_code": ("postalCode",),
    },
    "ad": {
        "name": ("displayName", "cn"),
        "given_name": ("givenName",),
        "surname": ("sn",),
        "company": ("company",),
        "department": ("department",),
        "title": ("title",),
        "email": ("mail",),
        "phone_work": ("telephoneNumber", "otherTelephone"),
        "phone_mobile": ("mobile", "otherMobile"),
        "phone_home": ("homePhone", "otherHomePhone"),
        "fax": ("facsimileTelephoneNumber",),
        "street": ("streetAddress",),
        "city": ("l",),
        "postal_code": ("postalCode",),
        "country": ("co",),
    },
}


class LdapSource(_Section):
    """An LDAP directory (OpenLDAP, Active Directory); ``preset`` picks filter and attributes."""

    type: Literal["ldap"]
    url: str
    base: str
    bind_dn: str | None = None
    password: str | None = None
    preset: LdapPreset = "inetorgperson"
    filter: str | None = None
    attributes: dict[ContactField, tuple[str, ...]] = Field(default_factory=dict)
    starttls: Flag = False
    timeout_seconds: Seconds = 5

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.fullmatch(r"ldaps?://[^\s/]+/?", value):
            raise ValueError("must be 'ldap://host[:port]' or 'ldaps://host[:port]'")
        return value

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        if value is not None and not _balanced_filter(value):
            raise ValueError("must be an LDAP filter in parentheses such as '(objectClass=person)'")
        return value

    @field_validator("attributes", mode="before")
    @classmethod
    def _attribute_lists(cls, value: Any) -> Any:
        """One attribute may be written as a string instead of a list of one."""
        if isinstance(value, Mapping):
            return {key: [v] if isinstance(v, str) else v for key, v in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[_Problem] = []
        if self.starttls and self.url.startswith("ldaps:"):
            problems.append((("starttls",), "must be false with an 'ldaps://' url (TLS already)"))
        if (self.bind_dn is None) != (self.password is None):
            problems.append(
                (("password",), "bind_dn and password go together; set both or neither")
            )
        if problems:
            raise _ProblemsError(problems)
        return self

    @property
    def search_filter(self) -> str:
        return self.filter or LDAP_FILTERS[self.preset]

    @property
    def attribute_map(self) -> Mapping[ContactField, tuple[str, ...]]:
        """The preset's attributes with this source's overrides."""
        return {**LDAP_ATTRIBUTES[self.preset], **self.attributes}


def _balanced_filter(text: str) -> bool:
    depth = 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0 or (depth == 0 and position < len(text) - 1):
            return False
    return text.startswith("(") and depth == 0


ContactSource = Annotated[CsvSource | VcardSource | LdapSource, Field(discriminator="type")]


class ContactsSettings(_Section):
    """``[contacts]``: where contact search looks, in order."""

    cache_ttl_seconds: Annotated[float, Field(strict=True, ge=0)] = 300
    sources: tuple[ContactSource, ...] = ()


# The event classes of Asterisk's manager.conf, for the AMI login's ``Events`` parameter.
# fmt: off
AmiEventClass = Literal[
    "system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf",
    "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security",
    "message", "all", "on",
]
# fmt: on


class AsteriskSettings(_Section):
    """``[asterisk]``: the AMI connection, and which devices ring for which line."""

    host: Host = "127.0.0.1"
    port: Port = 5038
    username: str | None = None
    password: str | None = None
    auth: Literal["md5", "plain"] = "md5"
    events: tuple[AmiEventClass, ...] = ("call", "dialplan", "agent", "system")
    keepalive_seconds: Seconds = 30
    reconnect_max_seconds: Seconds = 60
    max_frame_bytes: Annotated[int, Field(strict=True, ge=1024, le=16 * 1024 * 1024)] = 64 * 1024
    max_call_age_seconds: Seconds = 14400
    devices: dict[str, Line] = Field(default_factory=dict)

    @field_validator("events")
    @classmethod
    def _events(cls, value: tuple[AmiEventClass, ...]) -> tuple[AmiEventClass, ...]:
        if not {"call", "all", "on"} & set(value):
            raise ValueError("must include 'call': calls are what missedcall follows")
        return value

    @model_validator(mode="after")
    def _devices(self) -> Self:
        problems: list[_Problem] = []
        seen: dict[str, str] = {}
        for device in self.devices:
            tech, slash, resource = device.partition("/")
            if not (tech and slash and resource) or any(c.isspace() for c in device):
                problems.append((("devices", device), "must be a channel name such as 'PJSIP/201'"))
            key = tech.lower() + "/" + resource
            if key in seen:
                problems.append((("devices", device), f"is the same device as {seen[key]!r}"))
            seen[key] = device
        if (self.username is None) != (self.password is None):
            problems.append((("password",), "username and password go together; set both"))
        if problems:
            raise _ProblemsError(problems)
        return self


class NumberingSettings(_Section):
    """``[numbering]``: how local and national numbers become E.164 (SPEC §8)."""

    country: str | None = None
    area_code: str | None = None
    did_prefix: str | None = None
    internal_max_digits: Annotated[int, Field(strict=True, ge=0, le=15)] = 6
    outside_prefix: str | None = None

    @field_validator("outside_prefix")
    @classmethod
    def _outside_prefix(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9*#]{1,4}", value):
            raise ValueError("must be the 1 to 4 digits dialled for an outside line, such as '0'")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("must be an ISO 3166 country code such as 'DE'")
        return value.upper() if value else None

    @field_validator("did_prefix")
    @classmethod
    def _did_prefix(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\+[1-9][0-9]{1,14}", value):
            raise ValueError("must be an international prefix such as '+4930555'")
        return value

    @field_validator("area_code")
    @classmethod
    def _area_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Kept without national prefix: '030' and '30' both mean Berlin."""
        if value is None:
            return None
        if "country" not in info.data:
            return value  # the country is wrong, and that is the error to report
        country = info.data["country"]
        if country is None:
            raise ValueError("needs numbering.country")
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(country)
        trunk = metadata.national_prefix if metadata else None
        local = value[len(trunk) :] if trunk and value.startswith(trunk) else value
        if not re.fullmatch(r"[0-9]{1,6}", local):
            raise ValueError("must be the digits of an area code such as '30'")
        return local


class SmtpSettings(_Section):
    """``[smtp]``: the mail server the server sends through (``dispatch = "server"``)."""

    host: Host = "127.0.0.1"
    port: Port = 25
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: str | None = None
    from_: Mailbox = Field(alias="from")
    timeout_seconds: Seconds = 30
    max_connections: Annotated[int, Field(strict=True, ge=1, le=100)] = 2
    retry_max_age_seconds: Seconds = 172800

    @model_validator(mode="before")
    @classmethod
    def _tls_port(cls, data: Any) -> Any:
        """Implicit TLS is never on port 25: without a port, ``tls`` means 465."""
        if isinstance(data, Mapping) and "port" not in data and data.get("security") == "tls":
            return {**data, "port": 465}
        return data

    @model_validator(mode="after")
    def _login(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise _ProblemsError([(("password",), "username and password go together; set both")])
        return self


class ApiSettings(_Section):
    """``[api]``: the REST API and web page."""

    host: Host = "127.0.0.1"
    port: Port = 8025
    admin_password_hash: PasswordHash | None = Field(default=None, repr=False)
    metrics_public: Flag = False
    session_idle_seconds: Seconds = 3600


class Config(_Section):
    """The whole configuration file."""

    server: ServerSettings = Field(default_factory=ServerSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    journal: JournalSettings = Field(default_factory=JournalSettings)
    users: tuple[UserSettings, ...] = ()
    contacts: ContactsSettings = Field(default_factory=ContactsSettings)
    asterisk: AsteriskSettings = Field(default_factory=AsteriskSettings)
    numbering: NumberingSettings = Field(default_factory=NumberingSettings)
    smtp: SmtpSettings | None = None
    api: ApiSettings = Field(default_factory=ApiSettings)

    @classmethod
    def default(cls) -> Config:
        """A valid configuration with no users: every device is a line, nothing is sent."""
        return cls()

    @field_validator("users")
    @classmethod
    def _unique(cls, users: tuple[UserSettings, ...]) -> tuple[UserSettings, ...]:
        problems = list(_duplicate_users(users))
        if problems:
            raise _ProblemsError(problems)
        return users

    def warnings(self) -> list[str]:
        """Settings that load but will not work for ``missedcall run``, or look like mistakes."""
        found = []
        if self.notify.dispatch == "server" and self.smtp is None:
            found.append("smtp: missing, but notify.dispatch = 'server' needs it to send mail")
        if self.asterisk.username is None:
            found.append("asterisk.username: missing; needed to log on to the PBX")
        owned = {line for user in self.users for line in user.lines}
        for device, line in self.asterisk.devices.items():
            if self.users and line not in owned:
                found.append(f"asterisk.devices.{_key(device)}: line {line!r} has no user")
        for index, user in enumerate(self.users):
            if user.notify and user.email is None:
                found.append(f"users[{index}].email: missing, so {user.id!r} gets no mail")
        return found


def _duplicate_users(users: Sequence[UserSettings]) -> Iterator[_Problem]:
    """A user id used twice, or a line owned twice, is ambiguous: name both places."""
    ids: dict[str, int] = {}
    owners: dict[str, str] = {}
    for index, user in enumerate(users):
        if user.id == ADMIN_ACCOUNT:
            yield (index, "id"), f"{ADMIN_ACCOUNT!r} is reserved for the administrator's login"
        if user.id in ids:
            yield (
                (index, "id"),
                f"duplicate user id {user.id!r} (also users[{ids[user.id]}])",
            )
        ids.setdefault(user.id, index)
        for position, line in enumerate(user.lines):
            owner = owners.setdefault(line, user.id)
            if owner == user.id and user.lines.index(line) != position:
                yield (index, "lines", position), f"line {line!r} is listed twice"
            elif owner != user.id:
                yield (
                    (index, "lines", position),
                    f"line {line!r} is owned by both {owner!r} and {user.id!r}",
                )


# ---------------------------------------------------------------------------
# Loading and error messages


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a configuration file; raises :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror or error}"]) from None
    except UnicodeDecodeError as error:
        raise ConfigError([f"{path}: not UTF-8 (byte {error.start})"]) from None
    return parse_config(text, source=str(path), base_dir=path.parent)


def parse_config(text: str, *, source: str = "<string>", base_dir: Path | None = None) -> Config:
    """Validate configuration text; relative paths are resolved against ``base_dir``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([_syntax_message(source, str(error))]) from None
    return validate_model(Config, data, base_dir=base_dir)


def validate_model(
    model: type[_Model], data: Mapping[str, object], *, base_dir: Path | None = None
) -> _Model:
    """``data`` validated as ``model`` (the file, or a part of it changed at run time);
    :class:`ConfigError` names each bad key as the file does."""
    try:
        return model.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as error:
        raise ConfigError(_messages(error.errors(include_url=False))) from None


def _syntax_message(source: str, message: str) -> str:
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if match is None:
        return f"{source}: TOML syntax error: {message}"
    what = message[: match.start()]
    return f"{source}, line {match[1]}, column {match[2]}: TOML syntax error: {what}"


def _messages(errors: Sequence[ErrorDetails]) -> list[str]:
    messages: list[str] = []
    for error in errors:
        loc = _without_tags(error["loc"])
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, _ProblemsError):
            messages.extend(f"{_path((*loc, *sub))}: {text}" for sub, text in cause.problems)
        else:
            messages.append(_message(loc, error))
    return messages


def _without_tags(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Pydantic puts the union tag (``sources.0.csv.path``) and ``[key]`` in the path."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if part != "[key]"
        and not (i >= 2 and loc[i - 2] == "sources" and isinstance(loc[i - 1], int))
    )


def _message(loc: tuple[int | str, ...], error: ErrorDetails) -> str:
    kind, ctx, got = error["type"], error.get("ctx", {}), _show(error["input"])
    if kind == "union_tag_invalid":
        return f"{_path((*loc, 'type'))}: must be one of csv, vcard, ldap; got {_show(ctx['tag'])}"
    if kind == "union_tag_not_found":
        return f"{_path((*loc, 'type'))}: required key is missing (csv, vcard or ldap)"
    if kind == "literal_error":
        options = ctx["expected"].replace("'", "").replace(" or ", ", ")
        text = f"must be one of {options}"
    elif kind == "value_error":
        text = str(ctx["error"])
    else:
        template = _TEXTS.get(kind)
        text = (
            template.format(**{k: _plain(v) for k, v in ctx.items()}) if template else error["msg"]
        )
    if kind in {"extra_forbidden", "missing"}:
        return f"{_path(loc)}: {text}"
    return f"{_path(loc)}: {text}; got {got}"


_TEXTS: Mapping[str, str] = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "path_type": "must be a path",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
}


def _path(loc: Sequence[int | str]) -> str:
    """``('users', 1, 'lines', 0)`` -> ``users[1].lines[0]``, quoting keys TOML would quote."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + _key(part)
    return text or "(file)"


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def _plain(value: object) -> object:
    """``2.0`` reads as ``2`` in a message about a key the administrator wrote as ``2``."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _show(value: object) -> str:
    """A value as the administrator wrote it in TOML, cut short."""
    if isinstance(value, bool):
        shown = "true" if value else "false"
    elif isinstance(value, Mapping):
        shown = "a table"
    else:
        shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


# ---------------------------------------------------------------------------
# check-config


def check_config_command(path: str) -> int:
    """``missedcall check-config FILE``: 0 and a summary when valid, else 2 and the errors."""
    try:
        config = load_config(path)
    except ConfigError as error:
        print(f"{path}: {_count(len(error.messages), 'error')}", file=sys.stderr)
        for message in error.messages:
            print(message, file=sys.stderr)
        return 2
    print(f"OK: {path} ({_summary(config)})")
    for warning in [*config.warnings(), *_missing_files(config)]:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _summary(config: Config) -> str:
    lines = sum(len(user.lines) for user in config.users)
    return (
        f"{_count(len(config.users), 'user')}, {_count(lines, 'line')}, "
        f"{_count(len(config.asterisk.devices), 'device')}, "
        f"{_count(len(config.contacts.sources), 'contact source')}, "
        f"dispatch {config.notify.dispatch}, timezone {config.server.timezone}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _missing_files(config: Config) -> Iterator[str]:
    """Files named by the config that are not there (contact sources only warn: SPEC §8)."""
    for index, source in enumerate(config.contacts.sources):
        if isinstance(source, CsvSource | VcardSource) and not source.path.exists():
            yield f"contacts.sources[{index}].path: {str(source.path)!r} does not exist"
    for key in ("templates_dir", "languages_dir"):
        folder = getattr(config.notify, key)
        if folder is not None and not folder.is_dir():
            yield f"notify.{key}: {str(folder)!r} is not a folder"

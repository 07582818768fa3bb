"""String formats that are checked but kept exactly as the sender wrote them.

pydantic's rich types rewrite what they parse: a datetime dumps `+00:00` as
`Z`, an email address gets a lowercase domain, a URL may gain a trailing
slash and a UUID turns lowercase. A payload stored and passed on must stay the
sender's bytes, so each format here is a `str` subclass: validation checks the
format, the value is the original text, and a property gives the parsed form.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from email_validator import EmailNotValidError, validate_email
from pydantic import AnyUrl, GetCoreSchemaHandler, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError, core_schema

_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})"
_DURATION = re.compile(
    r"P(?!$)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?"
    r"(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?"
)
_URL_ADAPTER: TypeAdapter[AnyUrl] = TypeAdapter(AnyUrl)


class FormatString(str):
    """A string checked against a format; subclasses define `check`."""

    format_name: ClassVar[str] = "string"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls._validate,
            core_schema.str_schema(strict=True),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def _validate(cls, value: str) -> FormatString:
        if not cls.check(value):
            raise PydanticCustomError(
                "format_error",
                "Input should be a valid {format}",
                {"format": cls.format_name},
            )
        return cls(value)

    @classmethod
    def check(cls, value: str) -> bool:
        raise NotImplementedError


class DateTimeString(FormatString):
    """An RFC 3339 date-time with its offset, such as 2026-12-04T10:15:00+01:00."""

    format_name = "RFC 3339 date-time"
    _pattern = re.compile(_DATE + "[Tt]" + _TIME)

    @classmethod
    def check(cls, value: str) -> bool:
        if not cls._pattern.fullmatch(value):
            return False
        try:
            cls._parse(value)
        except ValueError:
            return False
        return True

    @staticmethod
    def _parse(value: str) -> datetime:
        text = value.upper().replace("Z", "+00:00")
        # RFC 3339 allows a leap second; datetime does not, so it reads :59.
        text = re.sub(r"(T\d{2}:\d{2}):60", r"\1:59", text)
        return datetime.fromisoformat(text)

    @property
    def value(self) -> datetime:
        """The date-time as an aware `datetime`."""
        return self._parse(self)


class DateString(FormatString):
    """An RFC 3339 full-date, such as 2026-12-04."""

    format_name = "RFC 3339 date"

    @classmethod
    def check(cls, value: str) -> bool:
        if not re.fullmatch(_DATE, value):
            return False
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True

    @property
    def value(self) -> date:
        """The date as a `date`."""
        return date.fromisoformat(self)


class TimeString(FormatString):
    """An RFC 3339 full-time with its offset, such as 10:15:00Z."""

    format_name = "RFC 3339 time"

    @classmethod
    def check(cls, value: str) -> bool:
        if not re.fullmatch(_TIME, value):
            return False
        try:
            cls._parse(value)
        except ValueError:
            return False
        return True

    @staticmethod
    def _parse(value: str) -> time:
        text = value.upper().replace("Z", "+00:00")
        return time.fromisoformat(re.sub(r"^(\d{2}:\d{2}):60", r"\1:59", text))

    @property
    def value(self) -> time:
        """The time as an aware `time`."""
        return self._parse(self)


class DurationString(FormatString):
    """An ISO 8601 duration, such as P1DT2H."""

    format_name = "ISO 8601 duration"

    @classmethod
    def check(cls, value: str) -> bool:
        return _DURATION.fullmatch(value) is not None

    @property
    def value(self) -> timedelta:
        """The duration as a `timedelta`; years and months are not supported."""
        adapter: TypeAdapter[timedelta] = TypeAdapter(timedelta)
        return adapter.validate_python(str(self))


class EmailString(FormatString):
    """An email address as checked by email-validator, without normalizing it."""

    format_name = "email address"

    @classmethod
    def check(cls, value: str) -> bool:
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            return False
        return True

    @property
    def normalized(self) -> str:
        """The address as email-validator normalizes it (lowercase domain)."""
        return validate_email(self, check_deliverability=False).normalized


class UriString(FormatString):
    """A URI, kept as written; `value` parses it."""

    format_name = "URI"

    @classmethod
    def check(cls, value: str) -> bool:
        if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", value):
            return False
        try:
            _URL_ADAPTER.validate_python(value)
        except ValidationError:
            return False
        return True

    @property
    def value(self) -> AnyUrl:
        """The URI parsed by pydantic (which may normalize it)."""
        return _URL_ADAPTER.validate_python(str(self))


class UuidString(FormatString):
    """A UUID in its hyphenated form, kept in the case it was written."""

    format_name = "UUID"
    _pattern = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")

    @classmethod
    def check(cls, value: str) -> bool:
        return cls._pattern.fullmatch(value) is not None

    @property
    def value(self) -> uuid.UUID:
        """The UUID as a `uuid.UUID`."""
        return uuid.UUID(self)


class IPv4String(FormatString):
    """An IPv4 address in dotted-quad form."""

    format_name = "IPv4 address"

    @classmethod
    def check(cls, value: str) -> bool:
        return _parses(ipaddress.IPv4Address, value)

    @property
    def value(self) -> ipaddress.IPv4Address:
        """The address as an `ipaddress.IPv4Address`."""
        return ipaddress.IPv4Address(self)


class IPv6String(FormatString):
    """An IPv6 address, kept as written (not compressed or lowercased)."""

    format_name = "IPv6 address"

    @classmethod
    def check(cls, value: str) -> bool:
        return _parses(ipaddress.IPv6Address, value)

    @property
    def value(self) -> ipaddress.IPv6Address:
        """The address as an `ipaddress.IPv6Address`."""
        return ipaddress.IPv6Address(self)


def _parses(parse: Callable[[str], object], value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True

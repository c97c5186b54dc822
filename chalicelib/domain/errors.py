"""Domain errors. Each carries a kind the API maps to an HTTP status; the domain knows no HTTP."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldIssue:
    field: str
    issue: str


@dataclass
class BillrunError(Exception):
    message: str
    details: list[FieldIssue] = field(default_factory=list)
    code: str = "Error"
    kind: str = "invalid"  # invalid | unauthorized | not_found | conflict | too_large | unsupported | too_many
    retry_after: int | None = None  # seconds the caller should wait before trying again (too_many)

    def __str__(self) -> str:
        return self.message


def invalid(field_name: str, issue: str, code: str = "ValidationError") -> BillrunError:
    return BillrunError(f"{field_name}: {issue}", [FieldIssue(field_name, issue)], code, "invalid")


def not_found(what: str, ident: str = "", field_name: str | None = None) -> BillrunError:
    details = [FieldIssue(field_name, f"no {what} with this id")] if field_name else []
    return BillrunError(f"{what} not found" + (f": {ident}" if ident else ""), details, "NotFound", "not_found")


def conflict(message: str, code: str = "InvalidState", field_name: str | None = None) -> BillrunError:
    details = [FieldIssue(field_name, message)] if field_name else []
    return BillrunError(message, details, code, "conflict")


def unauthorized(message: str) -> BillrunError:
    return BillrunError(message, [], "Unauthorized", "unauthorized")


def too_many(message: str, issue: FieldIssue, retry_after: int, code: str = "TooManyRequests") -> BillrunError:
    """Refused for now, not for good: the same request may succeed after `retry_after` seconds."""
    return BillrunError(message, [issue], code, "too_many", retry_after)

"""Human numbers per tenant: prefix plus 8 digits (BS-00000200)."""
PREFIXES = ("BS", "BJ", "INV", "CM", "IS", "BR")


def human_number(prefix: str, value: int) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown number prefix {prefix}")
    return f"{prefix}-{value:08d}"

"""The weights of the items of a content negotiation header (RFC 9110 12.4.2): Accept,
Accept-Encoding."""

from __future__ import annotations


def quality_values(header: str) -> dict[str, float]:
    """Each item of the comma-separated `header`, lower-cased and without its parameters, with
    its weight: its `q` (1 when not given, 0 when not a number). A later mention wins."""
    weights: dict[str, float] = {}
    for part in header.split(","):
        item, *params = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[item.lower()] = weight
    return weights

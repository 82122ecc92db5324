"""CVSS v3.0/v3.1 base scores computed from vector strings (FIRST specification, section 7)."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache

from .errors import CvssError

_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}
_BASE = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")


def _roundup_31(value: float) -> float:
    # CVSS 3.1 Appendix A: integer arithmetic avoids floating-point artefacts such as 4.000001.
    scaled = round(value * 100000)
    if scaled % 10000 == 0:
        return scaled / 100000.0
    return (math.floor(scaled / 10000) + 1) / 10.0


def _roundup_30(value: float) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_CEILING))


def base_score(vector: str) -> float:
    """Base score of a ``CVSS:3.0/…`` or ``CVSS:3.1/…`` vector; raises :class:`CvssError`."""
    parts = vector.strip().split("/")
    if not parts or parts[0] not in ("CVSS:3.0", "CVSS:3.1"):
        raise CvssError(f"{vector!r} is not a CVSS v3.0/v3.1 vector")
    metrics: dict[str, str] = {}
    for part in parts[1:]:
        name, sep, value = part.partition(":")
        if not sep or name in metrics:
            raise CvssError(f"{vector!r}: bad or repeated metric {part!r}")
        metrics[name] = value
    missing = [m for m in _BASE if m not in metrics]
    if missing:
        raise CvssError(f"{vector!r}: missing base metrics {', '.join(missing)}")
    scope = metrics["S"]
    try:
        if scope not in _PR:
            raise KeyError("S")
        av, ac, ui = (_WEIGHTS[m][metrics[m]] for m in ("AV", "AC", "UI"))
        c, i, a = (_WEIGHTS[m][metrics[m]] for m in ("C", "I", "A"))
        pr = _PR[scope][metrics["PR"]]
    except KeyError as exc:
        raise CvssError(f"{vector!r}: invalid value for metric {exc.args[0]}") from None
    roundup = _roundup_31 if parts[0] == "CVSS:3.1" else _roundup_30
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    impact = 6.42 * iss if scope == "U" else 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    if impact <= 0:
        return 0.0
    exploitability = 8.22 * av * ac * pr * ui
    if scope == "U":
        return roundup(min(impact + exploitability, 10))
    return roundup(min(1.08 * (impact + exploitability), 10))


#: :func:`base_score` memoised: real corpora repeat a few hundred vectors across many records.
cached_base_score = lru_cache(maxsize=4096)(base_score)


def rating(score: float) -> str:
    """Qualitative rating in GitHub's words: LOW, MODERATE, HIGH, CRITICAL (NONE for 0)."""
    if score == 0:
        return "NONE"
    if score < 4.0:
        return "LOW"
    if score < 7.0:
        return "MODERATE"
    if score < 9.0:
        return "HIGH"
    return "CRITICAL"

"""Alpine, Chainguard, Wolfi, MinimOS, Alpaquita, BellSoft Hardened Containers: apk-tools.

``number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}``, compared token by token as
apk-tools' ``apk_version_compare`` does: numbers numerically (a non-first number with a leading
zero compares as a decimal fraction), then the letter, then suffixes ``_alpha`` < ``_beta`` <
``_pre`` < ``_rc`` < no suffix < ``_cvs`` < ``_svn`` < ``_git`` < ``_hg`` < ``_p``, then the
``-r`` revision. When one version runs out, the longer is newer unless it continues with a
pre-release suffix. Malformed text stops the comparison where it starts, as in apk-tools.
"""

from __future__ import annotations

import re

from .base import ComparedKey, ordering

# The documented format (apk-package(5)); anything else is refused rather than guessed at.
_FORMAT = re.compile(
    r"^\d+(?:\.\d+)*(?:[a-z]\d*)?(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*"
    r"(?:~[0-9a-f]+)?(?:-r\d*)?$"
)

# Token types, in apk-tools' order (a later type in the same position makes a version older).
_INVALID, _DIGIT_OR_ZERO, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _REVISION_NO, _END = range(-1, 7)
_PRE = ("alpha", "beta", "pre", "rc")
_POST = ("cvs", "svn", "git", "hg", "p")
_ALLOWED_DROPS = {(_DIGIT_OR_ZERO, _DIGIT), (_SUFFIX, _SUFFIX_NO), (_DIGIT, _LETTER)}


def _next_type(kind: int, text: str, pos: int) -> tuple[int, int]:
    """The type of the token at ``pos`` after one of type ``kind``, and where it starts."""
    if pos >= len(text):
        return _END, pos
    c = text[pos]
    if kind in (_DIGIT, _DIGIT_OR_ZERO) and "a" <= c <= "z":
        new = _LETTER
    elif kind == _LETTER and c.isdigit():
        new = _DIGIT
    elif kind == _SUFFIX and c.isdigit():
        new = _SUFFIX_NO
    else:
        pos += 1
        if c == ".":
            new = _DIGIT_OR_ZERO
        elif c == "_":
            new = _SUFFIX
        elif c == "-" and text[pos : pos + 1] == "r":
            new, pos = _REVISION_NO, pos + 1
        else:
            new = _INVALID
    if new < kind and (new, kind) not in _ALLOWED_DROPS:
        new = _INVALID
    return new, pos


def _digits(text: str, pos: int) -> int:
    end = pos
    while end < len(text) and text[end].isdigit():
        end += 1
    return end


def _tokens(text: str) -> tuple[tuple[int, int], ...]:
    """(value, type of the next token) pairs, as apk-tools' ``get_token`` yields them."""
    out: list[tuple[int, int]] = []
    kind, pos = _DIGIT, 0
    while kind not in (_END, _INVALID):
        if pos >= len(text):
            out.append((0, _END))
            break
        following = None
        if kind == _DIGIT_OR_ZERO and text[pos] == "0":
            end = pos
            while end < len(text) and text[end] == "0":
                end += 1
            value, following = -(end - pos), _DIGIT  # leading zeros: a fraction, sorts lower
        elif kind in (_DIGIT_OR_ZERO, _DIGIT, _SUFFIX_NO, _REVISION_NO):
            end = _digits(text, pos)
            value = int(text[pos:end] or 0)
        elif kind == _LETTER:
            value, end = ord(text[pos]), pos + 1
        elif kind == _SUFFIX:
            word = next((w for w in (*_PRE, *_POST) if text.startswith(w, pos)), None)
            if word is None:
                out.append((-1, _INVALID))
                break
            end = pos + len(word)
            value = _PRE.index(word) - len(_PRE) if word in _PRE else _POST.index(word)
        else:
            out.append((-1, _INVALID))
            break
        pos = end
        if pos >= len(text):
            kind = _END
        elif following is not None:
            kind = following
        else:
            kind, pos = _next_type(kind, text, pos)
        out.append((value, kind))
    return tuple(out)


def _cmp(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]) -> int:
    i = 0
    av, at = a[0]
    bv, bt = b[0]
    while at == bt and at not in (_END, _INVALID) and av == bv:
        i += 1
        av, at = a[i]
        bv, bt = b[i]
    if av != bv:
        return -1 if av < bv else 1
    if at == bt:
        return 0
    # Equal so far: the longer version is newer, unless it goes on with a pre-release suffix.
    if at == _SUFFIX and a[i + 1][0] < 0:
        return -1
    if bt == _SUFFIX and b[i + 1][0] < 0:
        return 1
    return (at < bt) - (at > bt)


class ApkKey(ComparedKey):
    """apk-tools tokens compared as ``apk_version_compare``."""

    __slots__ = ()
    order = staticmethod(_cmp)


@ordering("Alpine")
def APK(version: str) -> ApkKey:
    text = version.strip()
    if not _FORMAT.match(text):
        raise ValueError("expected number{.number}{letter}{_suffix{number}}{~hash}{-r#}")
    return ApkKey(_tokens(text))

"""The `q` search syntax: the user's text read into a small query, and that query written out as
an FTS5 MATCH expression (SQLite) or a tsquery (PostgreSQL).

Syntax: terms separated by spaces, every one of which must match (AND). A term is a word, a
"quoted phrase", or either with `*` at its end, which makes its last word a prefix. Case does not
matter. A word is a run of letters and digits, read as the index reads text (see migration
0006): anything else separates words, and a term of several words (`CUM-PEEL15-EFF-AFI3`,
`force's`) is a phrase of them. There are no operators: AND, OR, NOT, NEAR, `-`, `:`, `^` and
parentheses are words or separators like any other text. A term with no word in it (`***`)
is ignored; a `q` with no word at all is refused.

The user's text never reaches MATCH or to_tsquery as it is: only words, each quoted.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from app.errors import InvalidInput

# Letters, digits, combining marks and private-use characters: what FTS5's unicode61 tokenizer
# keeps in a word (it folds case itself; so does PostgreSQL).
_WORD_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No", "Mn", "Co"})


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words that must appear one after another; with `prefix`, the last one only begins a word."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Phrases that must all match."""

    phrases: tuple[Phrase, ...]

    def fts5(self) -> str:
        """The FTS5 MATCH expression: each phrase a quoted string, `*` after a prefix, ANDed."""
        return " ".join(
            '"' + " ".join(word.replace('"', '""') for word in phrase.words) + '"'
            + ("*" if phrase.prefix else "")
            for phrase in self.phrases
        )  # fmt: skip

    def tsquery(self) -> str:
        """The to_tsquery text: each word a quoted lexeme, `<->` within a phrase, `&` between."""
        parts = []
        for phrase in self.phrases:
            lexemes = [_lexeme(word) for word in phrase.words]
            if phrase.prefix:
                lexemes[-1] += ":*"
            parts.append("(" + " <-> ".join(lexemes) + ")")
        return " & ".join(parts)


def _lexeme(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}'"


class InvalidSearch(InvalidInput):
    def __init__(self, message: str) -> None:
        super().__init__(
            f"Invalid value for: q ({message}).",
            field="q",
            location="query",
            message=message,
            error_type="search",
        )


NO_WORDS = "it has no word to search for: give letters or digits"


def _words(term: str) -> list[str]:
    words: list[str] = []
    current: list[str] = []
    for char in term:
        if unicodedata.category(char) in _WORD_CATEGORIES:
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _terms(text: str) -> list[tuple[str, bool]]:
    """(text of the term, whether it ends with `*`) for each term: quoted phrases (a missing
    closing quote ends the phrase at the end of the text) and runs of anything but spaces."""
    terms = []
    position, end = 0, len(text)
    while position < end:
        char = text[position]
        if char.isspace():
            position += 1
            continue
        if char == '"':
            close = text.find('"', position + 1)
            close = end if close < 0 else close
            body, position = text[position + 1 : close], close + 1
        else:
            start = position
            while position < end and not text[position].isspace() and text[position] != '"':
                position += 1
            body = text[start:position]
        prefix = body.endswith("*") or (position < end and text[position] == "*")
        if position < end and text[position] == "*":
            position += 1
        terms.append((body.rstrip("*"), prefix))
    return terms


@lru_cache(maxsize=1024)
def parse(text: str) -> SearchQuery:
    """`text` as a search; InvalidSearch (a 422 naming `q`) if it has no word in it."""
    phrases = []
    for body, prefix in _terms(text):
        words = _words(body)
        if words:
            phrases.append(Phrase(tuple(words), prefix))
    if not phrases:
        raise InvalidSearch(NO_WORDS)
    return SearchQuery(tuple(phrases))

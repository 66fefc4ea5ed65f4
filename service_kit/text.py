"""What text the API accepts: one set of rules for handles, display names and posts.

- Unicode is normalized to NFC, so one visible spelling is stored one way.
- Control characters (category Cc), lone surrogates (Cs), private-use (Co) and unassigned (Cn)
  code points and the bidirectional overrides and isolates (which can make text read differently
  from how it is stored) are rejected. Posts may contain newlines.
- A post or display name must contain at least one visible character: a letter, digit,
  punctuation or symbol. Spaces, zero-width characters and lone combining marks alone are empty.
- Handles are ASCII letters, digits and `_`; every lookup by handle applies the same rule before
  case-folding, so a look-alike (e.g. KELVIN SIGN for K, which `str.lower` turns into `k`) never
  resolves to somebody else's account.
"""

import re
import unicodedata

HANDLE_PATTERN = r"^[A-Za-z0-9_]{3,30}$"
_HANDLE = re.compile(r"[A-Za-z0-9_]{3,30}", re.ASCII)
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_VISIBLE_CATEGORY_CLASSES = frozenset("LNPS")


class TextRejected(ValueError):
    pass


def is_valid_handle(value: str) -> bool:
    return _HANDLE.fullmatch(value) is not None


def handle_key(value: str) -> str | None:
    """The case-insensitive key a handle is stored and found under, or None for a non-handle."""
    return value.lower() if is_valid_handle(value) else None


def clean_text(value: str, *, newlines: bool) -> str:
    """NFC-normalized, trimmed text; `TextRejected` when it has forbidden or no visible chars."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise TextRejected("text contains unpaired surrogates") from error
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    for char in value:
        if char == "\n" and newlines:
            continue
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES or char in _BIDI_CONTROLS:
            raise TextRejected(f"text contains a disallowed character U+{ord(char):04X}")
    if not any(unicodedata.category(char)[0] in _VISIBLE_CATEGORY_CLASSES for char in value):
        raise TextRejected("text has no visible characters")
    return value


def encodable(value: str) -> str:
    """Reject strings that cannot be UTF-8 (lone surrogates from JSON escapes): BSON needs it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise TextRejected("text contains unpaired surrogates") from error
    return value


# A hashtag is `#` and a word (Unicode letters, digits, `_`, at most 100) with a letter in it, as
# on Twitter and Mastodon (`#2024` is not one); a mention is `@` and a handle. Neither may follow a
# word character (`a#b`, `me@example.com`) nor run on into one (`#` and 101 letters is no
# hashtag), and `@bob@example.org` (another server's account) mentions nobody here.
_HASHTAG = re.compile(r"(?<![\w#])#(\w{1,100})(?![\w#])")
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,30})(?![\w@])")
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """The case-insensitive key of some text: case-folded, then NFC (folding can decompose)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def hashtags_of(text: str) -> list[str]:
    """The post's hashtags, case-folded, each once, in order of appearance (without `#`)."""
    found = (fold(tag) for tag in _HASHTAG.findall(text) if any(c.isalpha() for c in tag))
    return list(dict.fromkeys(found))


def mentions_of(text: str) -> list[str]:
    """The handles the post mentions, lowercased, each once, in order of appearance."""
    return list(dict.fromkeys(handle.lower() for handle in _MENTION.findall(text)))


def search_terms_of(text: str) -> list[str]:
    """What a post is found by, and what a search's `q` is split into, each once.

    Every word, case-folded; a hashtag also as `#tag` and a mention as `@handle`. So searching
    `python` finds `#Python` too, while `#python` (which needs both terms) finds only the hashtag.
    """
    words = [fold(word) for word in _WORD.findall(text)]
    tags = [f"#{tag}" for tag in hashtags_of(text)]
    mentioned = [f"@{handle}" for handle in mentions_of(text)]
    return list(dict.fromkeys([*words, *tags, *mentioned]))

"""Opaque tokens round-trip, and anything else is refused as one error (never a 500 upstream)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service_kit import opaque_tokens

payloads = st.dictionaries(st.text(max_size=5), st.one_of(st.text(), st.integers()), max_size=4)


@given(payloads)
def test_a_token_decodes_to_what_was_encoded(payload):
    token = opaque_tokens.encode(payload)
    assert not set(token) & set("=+/")  # URL-safe, unpadded
    assert opaque_tokens.decode(token) == payload


@pytest.mark.parametrize("garbage", ["", "!!!", "bm90IGpzb24", "W1tbW1tbW1tbW1tbW1s", "\ud800"])
def test_anything_else_is_not_a_token(garbage):
    with pytest.raises(opaque_tokens.NotAToken):
        opaque_tokens.decode(garbage)

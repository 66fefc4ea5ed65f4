"""Point 3: text is NFC, free of control characters, visible; handle lookups follow sign-up rules."""

import pytest

from service_kit.text import hashtags_of, mentions_of, search_terms_of
from service_kit.write_model import POSTS, USERS
from tests.support import PASSWORD, Stack, User


@pytest.mark.parametrize(
    "text",
    ["\u200b\u200b", "\u0000", "hello\u0007", " \u3000 ", "\u202eevil", "\u0301\u0301", "a\tb"],
    ids=["zero-width", "nul", "bell", "spaces", "bidi-override", "lone-marks", "tab"],
)
async def test_posts_of_invisible_or_control_characters_are_refused(
    stack: Stack, alice: User, text: str
):
    response = await stack.command.post(
        "/command/v1/posts", json={"text": text}, headers=alice.auth
    )
    assert response.status_code == 422, text
    assert await stack.database[POSTS].count_documents({}) == 0


async def test_posts_keep_newlines_and_are_stored_in_nfc(stack: Stack, alice: User):
    post = await alice.post("Cafe\u0301\r\nsecond line 👩‍💻")
    assert post["text"] == "Caf\u00e9\nsecond line 👩‍💻"


async def test_post_length_counts_normalized_characters(stack: Stack, alice: User):
    post = await alice.post("e\u0301" * 280)  # 560 code points, 280 after NFC
    assert len(post["text"]) == 280


async def test_display_names_need_visible_characters(stack: Stack):
    for name in ["\u200b", "\u0000Bob", "Bob\nSmith"]:
        response = await stack.command.post(
            "/command/v1/users",
            json={"handle": "bob", "password": PASSWORD, "display_name": name},
        )
        assert response.status_code == 422, repr(name)
    assert await stack.database[USERS].count_documents({}) == 0


async def test_a_look_alike_handle_never_resolves_to_another_account(stack: Stack, alice: User):
    await stack.sign_up("kate")
    await stack.settle()
    kelvin = "\u212aate"  # KELVIN SIGN; "\u212a".lower() == "k"
    assert (await stack.query.get(f"/query/v1/users/{kelvin}")).status_code == 404
    assert (await stack.query.get(f"/query/v1/users/{kelvin}/posts")).status_code == 404
    follow = await stack.command.put(f"/command/v1/users/{kelvin}/follow", headers=alice.auth)
    assert follow.status_code == 404
    sign_in = await stack.command.post(
        "/command/v1/sessions", json={"handle": kelvin, "password": PASSWORD}
    )
    assert sign_in.status_code == 401


@pytest.mark.parametrize(
    ("text", "hashtags"),
    [
        ("#Python and #python, #PYTHON", ["python"]),  # case-folded, each once
        ("#Straße #STRASSE", ["strasse"]),  # casefold, not lower: ß is ss
        ("#café #naïve_2", ["café", "naïve_2"]),  # Unicode letters, digits and _
        ("#2024 #123abc #_", ["123abc"]),  # a tag needs a letter, as on Twitter and Mastodon
        ("a#b x##y", []),  # not after a word character or another #
        ("#" + "a" * 100, ["a" * 100]),
        ("#" + "a" * 101, []),  # too long: no tag at all, never a truncated one
        ("end.#tag!", ["tag"]),
    ],
)
def test_hashtags_are_words_with_a_letter_after_a_hash(text: str, hashtags: list[str]):
    assert hashtags_of(text) == hashtags


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("hi @Bob and @bob, @ALICE", ["bob", "alice"]),
        ("mail me@example.com", []),  # an address is no mention
        ("@bob@example.org", []),  # another server's account mentions nobody here
        ("é@bob", []),  # not after a (Unicode) word character
        ("@ab @abc @" + "a" * 31, ["abc"]),  # handles are 3-30 characters
        ("(@carol)", ["carol"]),
    ],
)
def test_mentions_are_handles_after_an_at_sign(text: str, mentions: list[str]):
    assert mentions_of(text) == mentions


def test_search_terms_are_every_word_plus_the_hashtags_and_mentions_themselves():
    assert search_terms_of("Learning #Python with @Bob, python!") == [
        "learning",
        "python",
        "with",
        "bob",
        "#python",
        "@bob",
    ]
    assert search_terms_of("#python") == ["python", "#python"]  # so q=#python needs the tag
    assert search_terms_of("STRASSE Straße") == ["strasse"]
    assert search_terms_of("?!  ...") == []


async def test_a_post_stores_its_hashtags_and_resolved_mentions(
    stack: Stack, alice: User, bob: User
):
    post = await alice.post("Hi @bob and @nobody_here #Intro #intro")
    stored = await stack.database[POSTS].find_one({})
    assert stored is not None
    assert str(stored["_id"]) == post["id"]
    assert stored["hashtags"] == ["intro"]
    assert stored["mentions"] == ["bob", "nobody_here"]
    assert [str(user_id) for user_id in stored["mention_ids"]] == [bob.id]

"""Full-text search and keyset pages through the store, on SQLite (FTS5) and PostgreSQL.

Every test runs on both databases (``db_url``): the same words must find the same runs, in the
same order, with the owner inside the index.
"""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
import sqlalchemy as sa

from playground.store import Store, engine_for, runs
from tests.test_images import png
from tests.test_store import make_run


@pytest.fixture
def store(db_url):
    store = Store(engine_for(db_url))
    yield store
    store.engine.dispose()


def prompts(listing) -> list[str]:
    return [row.prompt for row in listing.rows]


def found(store, query: str, owner: str = "alice") -> set[str]:
    return set(prompts(store.history(owner, query=query)))


def conversation(*turns: tuple[str, str], reply: str = "Fine.", **extra):
    run = make_run(reply=reply, **extra)
    run.request["messages"] = [{"role": role, "content": text} for role, text in turns]
    return run


def test_a_word_finds_the_runs_holding_it_whatever_its_case(store):
    store.save(make_run(prompt="Tell me about Paris", reply="A city"), "alice")
    store.save(make_run(prompt="Numbers", reply="100% of PARIS_fans"), "alice")
    store.save(make_run(prompt="Parisian food", reply="Bread"), "alice")  # not the word
    store.save(make_run(prompt="Other", reply="Nothing"), "alice")
    assert found(store, "paris") == {"Tell me about Paris", "Numbers"}
    assert found(store, "PARIS") == found(store, "paris")
    assert found(store, "fans") == {"Numbers"} and found(store, "100") == {"Numbers"}
    assert found(store, "london") == set()
    assert store.history("alice", query="paris").total == 2


def test_a_prefix_finds_every_word_it_begins(store):
    store.save(make_run(prompt="Tell me about Paris"), "alice")
    store.save(make_run(prompt="Parisian food"), "alice")
    store.save(make_run(prompt="A pair of shoes"), "alice")
    assert found(store, "pari*") == {"Tell me about Paris", "Parisian food"}
    assert found(store, "pa*") == set()  # too short to be a prefix: the word "pa"


def test_every_word_of_a_query_must_match(store):
    store.save(make_run(prompt="Paris in spring", reply="Rain in London"), "alice")
    store.save(make_run(prompt="Paris in winter", reply="Snow"), "alice")
    store.save(make_run(prompt="London fog"), "alice")
    assert found(store, "paris london") == {"Paris in spring"}
    assert found(store, "london pari*") == {"Paris in spring"}
    assert found(store, "paris zanzibar") == set()


def test_the_better_match_comes_first_not_the_newer(store):
    now = time.time()
    filler = " ".join(["word"] * 200)
    store.save(make_run(prompt="Paris Paris Paris", reply="Paris.", started_at=now - 60),
               "alice")
    store.save(make_run(prompt="Travel", reply=f"{filler} Paris {filler}", started_at=now - 30),
               "alice")
    store.save(make_run(prompt="Paris again", reply="Yes", started_at=now), "alice")
    assert prompts(store.history("alice", query="paris")) == [
        "Paris Paris Paris", "Paris again", "Travel"]
    assert prompts(store.history("alice")) == ["Paris again", "Travel", "Paris Paris Paris"]


def test_every_turn_and_the_reply_are_searched(store):
    store.save(conversation(("system", "You are a zephyr."), ("user", "First quokka question"),
                            ("assistant", "An answer about narwhals"), ("user", "And now?"),
                            reply="The axolotl reply"), "alice")
    for word in ("zephyr", "quokka", "narwhals", "axolotl", "now"):
        assert found(store, word) == {"And now?"}, word
    rows = store.history("alice", query="quokka").rows
    assert rows[0].turns.startswith("You are a zephyr.") and rows[0].reply == "The axolotl reply"


def test_another_owners_runs_are_never_found(store):
    store.save(make_run(prompt="alice's secret paris plan"), "alice")
    store.save(make_run(prompt="bob's paris plan"), "bob")
    store.save(make_run(prompt="ALICE's twin paris"), "ALICE")  # owner ids are exact
    store.save(make_run(prompt="session paris"), "session:Alice")
    assert found(store, "paris") == {"alice's secret paris plan"}
    assert found(store, "paris", "bob") == {"bob's paris plan"}
    assert found(store, "paris", "ALICE") == {"ALICE's twin paris"}
    assert found(store, "paris", "mallory") == set()
    assert store.matching("mallory", query="paris") == 0
    assert found(store, "bob") == set() and found(store, "alice", "bob") == set()


def test_a_running_runs_text_is_searchable_as_it_grows(store):
    run_id = store.start(make_run(reply=None, stream=True), "alice")
    assert found(store, "hello") == {"Hello"}  # the prompt, from the first write
    store.progress(run_id, "The answer mentions zanzibar")
    assert found(store, "zanzibar") == {"Hello"}
    store.progress(run_id, "The answer changed its mind: madagascar")
    assert found(store, "madagascar") == {"Hello"} and found(store, "zanzibar") == set()
    store.finish(run_id, make_run(reply="Final: timbuktu", stream=True))
    assert found(store, "timbuktu") == {"Hello"} and found(store, "madagascar") == set()
    other = store.start(make_run(prompt="Second", reply=None, stream=True), "alice")
    store.halt(other, "cut at kathmandu")
    assert found(store, "kathmandu") == {"Second"}


def test_deleted_and_pruned_runs_leave_the_index(store):
    now = time.time()
    gone = store.save(make_run(prompt="delete zanzibar"), "alice")
    store.save(make_run(prompt="old zanzibar", started_at=now - 40 * 86400), "alice")
    store.save(make_run(prompt="kept zanzibar"), "alice")
    assert store.delete(gone, "alice")
    assert found(store, "zanzibar") == {"old zanzibar", "kept zanzibar"}
    assert store.prune(days=30, now=now) == 1
    assert found(store, "zanzibar") == {"kept zanzibar"}
    store.delete_all("alice")
    assert found(store, "zanzibar") == set()
    store.save(make_run(prompt="new zanzibar"), "alice")  # the index still takes new runs
    assert found(store, "zanzibar") == {"new zanzibar"}


@pytest.mark.parametrize("query", ["", "   ", "%", "!!! ...", "*", '"'])
def test_a_query_without_words_lists_everything(store, query):
    for i in range(3):
        store.save(make_run(prompt=f"run {i}"), "alice")
    listed = store.history("alice", query=query)
    assert prompts(listed) == ["run 2", "run 1", "run 0"] and listed.total == 3


def test_search_syntax_typed_by_a_visitor_is_only_words(store):
    store.save(make_run(prompt="NOT a near miss OR and"), "alice")
    store.save(make_run(prompt="Something else"), "alice")
    for query in ("NOT", "near", "OR", "and", 'miss"', "(miss", "miss)", "miss:*",
                  "owner_key:x miss", "{turns} miss", "'miss", "miss & or", "miss | x"):
        assert found(store, query) <= {"NOT a near miss OR and"}, query
        assert store.history("alice", query=query).total <= 1
    assert found(store, "miss & or") == {"NOT a near miss OR and"}


def test_list_pages_go_by_keyset_both_ways_with_filters(store):
    for i in range(8):
        store.save(make_run(prompt=f"a{i}", model="a", started_at=1_000 + i), "alice")
        store.save(make_run(prompt=f"b{i}", model="b", started_at=1_000 + i), "alice")
    first = store.history("alice", model="a", per_page=3)
    assert prompts(first) == ["a7", "a6", "a5"] and first.newer is None and first.total == 8
    second = store.history("alice", model="a", per_page=3, before=str(first.older))
    third = store.history("alice", model="a", per_page=3, before=str(second.older))
    assert prompts(second) == ["a4", "a3", "a2"] and prompts(third) == ["a1", "a0"]
    assert third.older is None
    back = store.history("alice", model="a", per_page=3, after=str(third.newer))
    assert prompts(back) == prompts(second)
    top = store.history("alice", model="a", per_page=3, after=str(back.newer))
    assert prompts(top) == prompts(first) and top.newer is None


def test_runs_started_at_the_same_time_are_each_listed_once(store):
    for i in range(7):
        store.save(make_run(prompt=f"tie {i}", started_at=5_000.0), "alice")
    seen, cursor = [], None
    while True:
        page = store.history("alice", per_page=2, before=cursor)
        seen += prompts(page)
        if page.older is None:
            break
        cursor = str(page.older)
    assert sorted(seen) == [f"tie {i}" for i in range(7)] and len(seen) == 7


def test_ranked_pages_go_by_keyset_both_ways(store):
    for i in range(7):  # the more times the word, the better the match
        store.save(make_run(prompt=" ".join(["paris"] * (i + 1)) + f" n{i}",
                            started_at=1_000 + i), "alice")
    first = store.history("alice", query="paris", per_page=3)
    assert [p.split()[-1] for p in prompts(first)] == ["n6", "n5", "n4"]
    second = store.history("alice", query="paris", per_page=3, before=str(first.older))
    third = store.history("alice", query="paris", per_page=3, before=str(second.older))
    assert [p.split()[-1] for p in prompts(second) + prompts(third)] == ["n3", "n2", "n1", "n0"]
    assert third.older is None and first.newer is None
    assert prompts(store.history("alice", query="paris", per_page=3,
                                 after=str(second.newer))) == prompts(first)
    # A cursor of the other order (or none at all) is the first page, never an error.
    assert prompts(store.history("alice", query="paris", per_page=3,
                                 before=str(first.older).replace("s", "t", 1))) == prompts(first)


def test_counts_stop_at_the_limit_and_a_search_ranks_the_newest_matches(store):
    store.save(make_run(prompt="paris paris paris paris old", started_at=500), "alice")
    for i in range(5):
        store.save(make_run(prompt=f"paris {i}", started_at=1_000 + i), "alice")
    assert store.matching("alice", limit=3) == 4 and store.matching("alice", limit=10) == 6
    assert store.matching("alice", query="paris", limit=3) == 4
    listed = store.history("alice", query="paris", limit=3)
    assert listed.total == 4  # "3+"
    # The best match is old: past the newest 3 matches, a search does not rank it.
    assert sorted(prompts(listed)) == ["paris 2", "paris 3", "paris 4"]
    assert prompts(store.history("alice", query="paris", limit=10))[0].endswith("old")


def test_the_model_list_is_each_model_once(store):
    for model in ("b", "a", "b", "c", "a"):
        store.save(make_run(model=model), "alice")
    store.save(make_run(model="z"), "bob")
    assert store.models("alice") == ["a", "b", "c"] and store.models("nobody") == []


def test_save_many_writes_exactly_the_rows_save_writes(store):
    """The bench's bulk path: the same rows, and the same index, as one save at a time."""
    made = [(conversation(("system", "Be brief"), ("user", f"question {i} <b>x</b>"),
                          reply=f"answer {i} \x00 Ünïcödé"), f"owner-{i % 2}") for i in range(6)]
    one_by_one = [store.save(run, owner) for run, owner in made]
    together = store.save_many(made)
    assert len(set(one_by_one + together)) == 12

    def row(run_id: str) -> dict:
        with store.engine.connect() as conn:
            found = dict(conn.execute(sa.select(runs).where(runs.c.id == run_id)).one()._mapping)
        return {k: v for k, v in found.items() if k not in ("pk", "id")}

    for single, bulk in zip(one_by_one, together, strict=True):
        assert row(single) == row(bulk)
    # Ünïcödé as written: a PostgreSQL database in the C locale (the tests') folds ASCII only.
    for query, expected in (("question", 3), ("brief", 3), ("answer 3", 1), ("Ünïcödé", 3),
                            ("b", 3), ("zanzibar", 0)):
        for owner in ("owner-0", "owner-1"):
            ids = {row.id for row in store.history(owner, query=query).rows}
            pairs = [(a in ids, b in ids) for a, b, (_, o) in zip(one_by_one, together, made,
                                                                   strict=True) if o == owner]
            assert all(a == b for a, b in pairs), (query, owner)
            assert sum(a for a, _ in pairs) == (expected if query != "answer 3" or owner ==
                                                "owner-1" else 0), (query, owner)


def with_image(prompt: str, image: bytes, **extra):
    """A run whose user turn carries an uploaded image, as the workbench sends it."""
    url = "data:image/png;base64," + base64.b64encode(image).decode("ascii")
    return conversation(("user", [{"type": "text", "text": prompt},
                                  {"type": "image_url", "image_url": {"url": url}}]), **extra)


def test_an_edited_assistant_turn_of_a_three_turn_run_is_found(store):
    store.save(conversation(("user", "Name a bird"),
                            ("assistant", [{"type": "text", "text": "Edited: the quetzal"}]),
                            ("user", "And its tail?"), reply="Long and green."), "alice")
    store.save(conversation(("user", "Name a bird"), ("assistant", "A robin"),
                            ("user", "And its tail?")), "alice")
    listed = store.history("alice", query="quetzal")
    assert prompts(listed) == ["And its tail?"] and listed.total == 1
    assert listed.rows[0].turn_count == 3 and "quetzal" in listed.rows[0].turns
    assert found(store, "robin") == {"And its tail?"} and found(store, "green") == {
        "And its tail?"}


def test_an_images_bytes_are_never_searched_and_the_export_inflates_them(store):
    image = png(7, 7)
    for i in range(3):
        store.save(with_image(f"What is picture {i}?", image), "alice")
    encoded = base64.b64encode(image).decode("ascii")
    for word in (encoded[:12], encoded[20:40], "base64", "png", "image_url"):
        assert found(store, word) == set(), word
    assert found(store, "picture") == {f"What is picture {i}?" for i in range(3)}
    with store.engine.connect() as conn:  # the row refers to the image; it does not hold it
        assert not any(encoded[:40] in data for data in conn.execute(
            sa.select(runs.c.data)).scalars())
    exported = list(store.export("alice", batch=2))  # keyset batches, each inflated
    assert [r["request"]["messages"][0]["content"][0]["text"] for r in exported] == [
        f"What is picture {i}?" for i in range(3)]
    assert {r["request"]["messages"][0]["content"][1]["image_url"]["url"] for r in exported} \
        == {"data:image/png;base64," + encoded}


def test_a_batched_prune_lets_the_images_of_pruned_runs_go(store):
    now = time.time()
    old, kept = png(8, 8), png(9, 9)
    for i in range(3):
        store.save(with_image(f"old {i}", old, started_at=now - 40 * 86400 + i), "alice")
    store.save(with_image("kept", kept), "alice")
    assert store.prune(days=30, now=now, batch=2) == 3
    assert store.images.prune(grace=0) == 1
    assert store.images.get("alice", hashlib.sha256(old).hexdigest()) is None
    assert store.images.get("alice", hashlib.sha256(kept).hexdigest()).data == kept
    assert found(store, "old") == set() and found(store, "kept") == {"kept"}

"""Following another process's writes through the change log (index/sync.py): which entries are taken in, when."""
from __future__ import annotations

import pytest

from index.lexical import LexicalIndex
from index.sync import SLACK_MS, Change, Follower, forget_before, to_take_in


@pytest.mark.parametrize("changes, taken, expected", [
    ([Change("a", 5)], {}, ["a"]),                                    # never seen
    ([Change("a", 5)], {"a": 5}, []),                                 # taken in already (or written here)
    ([Change("a", 5)], {"a": 7}, []),                                 # an older stamp than the one taken in
    ([Change("a", 9)], {"a": 7}, ["a"]),                              # written again since
    ([Change("a", 5), Change("b", 6), Change("a", 8)], {"a": 7}, ["a", "b"]),
    ([], {"a": 1}, []),
])
def test_articles_to_take_in(changes, taken, expected):
    assert to_take_in(changes, taken) == expected


def test_stamps_older_than_the_slack_are_forgotten():
    assert forget_before({"a": 10, "b": 20, "c": 30}, 20) == {"c": 30}


class ListLog:
    """The change log as a list; counts the reads."""

    def __init__(self) -> None:
        self.entries: list[Change] = []
        self.reads = 0

    def since(self, after: int) -> list[Change]:
        self.reads += 1
        self.returned = [c for c in self.entries if c.at > after]
        return self.returned


@pytest.fixture
def following(tmp_path):
    log, chroma, clock = ListLog(), {}, [0.0]
    fetched: list[list[str]] = []

    def read_rows(article_ids: list[str]) -> list[tuple[str, str, int, str]]:
        fetched.append(article_ids)
        return [row for aid in article_ids for row in chroma.get(aid, [])]

    lexical = LexicalIndex(tmp_path / "keywords.sqlite3")
    # the wall clock (ms, as the writers stamp) moves with the monotonic one, from 1,000,000
    follower = Follower(log, lexical, read_rows, interval_s=2.0, clock=lambda: clock[0],
                        wall_ms=lambda: 1_000_000 + int(clock[0] * 1000))
    follower.start(1_000_000)
    yield log, chroma, clock, fetched, lexical, follower
    lexical.close()


def test_an_entry_stamped_late_is_still_taken_in_and_only_once(following):
    """A writer's clock lags or its upsert lands late: its entry is older than the newest taken in, but within
    the slack, so it is still read; a second check does not read it again."""
    log, chroma, clock, fetched, lexical, follower = following
    chroma["new"] = [("new#0", "new", 20230504, "talks in Arlington")]
    chroma["late"] = [("late#0", "late", 20230501, "phone calls to Yerevan")]
    log.entries.append(Change("new", 1_005_000))
    assert follower.follow(force=True) == 1 and follower.position == 1_005_000
    log.entries.append(Change("late", 1_005_000 - SLACK_MS + 1))
    assert follower.follow(force=True) == 1
    assert [cid for cid, _ in lexical.search("Yerevan", 5)] == ["late#0"]
    assert follower.follow(force=True) == 0 and fetched == [["new"], ["late"]]


def test_once_a_burst_of_writes_is_older_than_the_slack_a_check_fetches_nothing(following):
    """The mark moves with the reader's clock, not only with the newest stamp: the last seconds of a big ingest
    are fetched again for at most the slack, not at every check forever (at 100k chunks they made each check page
    through thousands of entries)."""
    log, chroma, clock, fetched, lexical, follower = following
    for i in range(50):
        chroma[f"a{i}"] = [(f"a{i}#0", f"a{i}", 20230504, f"story {i}")]
        log.entries.append(Change(f"a{i}", 1_004_000 + i))
    clock[0] = 5.0
    assert follower.follow() == 50 and len(log.returned) == 50
    clock[0] = 5.0 + SLACK_MS / 1000 + 1   # a check more than the slack after they were written...
    assert follower.follow() == 0
    clock[0] += 2.0                        # ...and every check after it fetches none of them
    assert follower.follow() == 0 and log.returned == []


def test_a_reopened_index_does_not_read_again_what_it_took_in(following):
    log, chroma, clock, fetched, lexical, follower = following
    chroma["a"] = [("a#0", "a", 20230504, "story")]
    follower.taken_in([Change("a", 1_000_500)])   # this process wrote it
    log.entries.append(Change("a", 1_000_500))
    again = Follower(log, lexical, fetched.append, interval_s=2.0, clock=lambda: clock[0],
                     wall_ms=lambda: 1_000_000 + int(clock[0] * 1000))
    assert again.follow(force=True) == 0 and fetched == []


def test_a_removal_or_replacement_takes_the_article_as_chroma_holds_it_now(following):
    log, chroma, clock, fetched, lexical, follower = following
    lexical.add([("old#0", "a", 20230501, "old wording"), ("gone#0", "b", 20230502, "doomed story")])
    chroma["a"] = [("new#0", "a", 20230501, "new wording")]                # replaced; "b" removed
    log.entries += [Change("a", 1_001_000), Change("b", 1_001_000)]
    follower.follow(force=True)
    assert lexical.dates() == {"new#0": 20230501}


def test_the_log_is_read_at_most_once_an_interval(following):
    log, chroma, clock, fetched, lexical, follower = following
    follower.follow()
    clock[0] += 1.9
    follower.follow()
    assert log.reads == 1
    clock[0] += 0.2
    follower.follow()
    assert log.reads == 2


def test_own_writes_are_not_read_back(following):
    log, chroma, clock, fetched, lexical, follower = following
    written = [Change("mine", 1_002_000)]
    log.entries += written
    follower.taken_in(written)
    assert follower.follow(force=True) == 0 and fetched == []


def test_a_store_that_never_followed_the_log_reads_nothing(tmp_path):
    log = ListLog()
    lexical = LexicalIndex(tmp_path / "keywords.sqlite3")
    assert Follower(log, lexical, lambda ids: [], 0.0).follow(force=True) == 0 and log.reads == 0
    lexical.close()


def test_a_caller_that_waited_while_a_check_failed_gets_that_failure_without_asking_again(tmp_path):
    """A question's two searches catch up side by side: when the server is dead, the second must not wait out
    a second timeout after the first."""
    import threading
    import time

    class DeadLog:
        def __init__(self) -> None:
            self.reads, self.entered = 0, threading.Event()

        def since(self, after: int) -> list[Change]:
            self.reads += 1
            self.entered.set()
            time.sleep(0.3)   # the timeout
            raise TimeoutError("the server did not answer")

    log, lexical = DeadLog(), LexicalIndex(tmp_path / "keywords.sqlite3")
    follower = Follower(log, lexical, lambda ids: [], interval_s=0.0)
    follower.start(1_000_000)
    errors: list[BaseException] = []

    def follow() -> None:
        try:
            follower.follow()
        except TimeoutError as exc:
            errors.append(exc)

    first = threading.Thread(target=follow)
    first.start()
    log.entered.wait(5)
    follow()   # waits for the first, which fails meanwhile
    first.join(5)
    assert log.reads == 1 and len(errors) == 2 and errors[0] is errors[1]
    follow()   # a later call asks again
    assert log.reads == 2
    lexical.close()

"""Idle grading workers go to the waiting answer whose account has used them least lately."""

from __future__ import annotations

import threading
import time

import pytest

from reasoning_economics.grading.fair_share import FairHandOut, WorkerUsage, charged_to, current_account


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_usage_halves_every_half_life_and_adds_up():
    clock = FakeClock()
    usage = WorkerUsage(half_life_s=30, new_account_s=0, clock=clock)
    usage.charge("a", 4.0)
    assert usage.of("a") == 4.0 and usage.of("never") == 0.0
    clock.now += 30
    assert usage.of("a") == pytest.approx(2.0)
    usage.charge("a", 1.0)
    clock.now += 60
    assert usage.of("a") == pytest.approx(0.75)


def test_a_new_account_starts_with_some_use_that_decays_from_when_it_was_first_seen():
    clock = FakeClock()
    usage = WorkerUsage(half_life_s=30, new_account_s=1.0, clock=clock)
    assert usage.of("new") == 1.0
    clock.now += 30
    assert usage.of("new") == pytest.approx(0.5) and usage.of("newer") == 1.0
    usage.charge("new", 0.25)
    assert usage.of("new") == pytest.approx(0.75)


def test_accounts_used_up_long_ago_are_forgotten():
    clock = FakeClock()
    usage = WorkerUsage(half_life_s=1, clock=clock)
    usage.charge("old", 1.0)  # 2 s with the new account's 1 s
    clock.now += 20  # 2**-19 of a second left
    usage.charge("new", 1.0)
    assert len(usage) == 1 and usage.of("new") == 2.0


def test_bad_usage_settings_are_refused():
    with pytest.raises(ValueError, match="half_life_s"):
        WorkerUsage(half_life_s=0)
    with pytest.raises(ValueError, match="new_account_s"):
        WorkerUsage(new_account_s=-1)


def test_an_idle_item_serves_a_ticket_at_once():
    hand_out: FairHandOut[str] = FairHandOut()
    hand_out.put("w1")
    ticket = hand_out.ticket("a")
    assert hand_out.wait(ticket, 0) == "w1"
    assert hand_out.idle_count() == 0 and hand_out.waiting_count() == 0


def test_freed_items_go_to_the_least_used_account_then_first_come():
    hand_out: FairHandOut[str] = FairHandOut(WorkerUsage(new_account_s=0))
    hand_out.charge("heavy", 5.0)
    hand_out.charge("light", 0.5)
    heavy = hand_out.ticket("heavy")
    fresh_1 = hand_out.ticket("fresh-1")
    light = hand_out.ticket("light")
    fresh_2 = hand_out.ticket("fresh-2")
    assert hand_out.wait(heavy, 0) is None
    for item in ("w1", "w2", "w3", "w4"):
        hand_out.put(item)
    assert [hand_out.wait(t, 0) for t in (fresh_1, fresh_2, light, heavy)] == ["w1", "w2", "w3", "w4"]


def test_sessions_using_the_workers_lightly_go_ahead_of_new_ones():
    # Else a client opening a new session for each slow answer would always go first.
    clock = FakeClock()
    hand_out: FairHandOut[str] = FairHandOut(WorkerUsage(half_life_s=30, clock=clock))
    hand_out.charge("light", 0.01)
    clock.now += 3  # 0.93 s of use now, the new account's 1 s included
    new = hand_out.ticket("new")
    light = hand_out.ticket("light")
    hand_out.put("w1")
    assert hand_out.wait(light, 0) == "w1" and hand_out.wait(new, 0) is None


def test_a_cancelled_ticket_leaves_the_line():
    hand_out: FairHandOut[str] = FairHandOut()
    first, second = hand_out.ticket("a"), hand_out.ticket("b")
    hand_out.cancel(first)
    hand_out.put("w1")
    assert hand_out.wait(second, 0) == "w1" and hand_out.waiting_count() == 0


def test_an_item_handed_to_a_ticket_as_it_gave_up_goes_to_the_next():
    hand_out: FairHandOut[str] = FairHandOut()
    first, second = hand_out.ticket("a"), hand_out.ticket("b")
    hand_out.put("w1")  # handed to ``first`` after its wait timed out, before it cancelled
    hand_out.cancel(first)
    assert hand_out.wait(second, 0) == "w1"
    hand_out.cancel(hand_out.ticket("c"))
    hand_out.put("w2")
    assert hand_out.idle_count() == 1 and hand_out.take_idle() == ["w2"]


def test_a_waiting_thread_is_woken_by_put():
    hand_out: FairHandOut[str] = FairHandOut()
    got: list[str | None] = []
    ticket = hand_out.ticket("a")
    waiter = threading.Thread(target=lambda: got.append(hand_out.wait(ticket, 30)))
    waiter.start()
    time.sleep(0.05)
    hand_out.put("w1")
    waiter.join(5)
    assert got == ["w1"]


def test_charged_to_sets_the_account_for_its_block_and_thread_only():
    seen: list[object] = []
    with charged_to("session-1"):
        assert current_account() == "session-1"
        other = threading.Thread(target=lambda: seen.append(current_account()))
        other.start()
        other.join()
        with charged_to("session-2"):
            assert current_account() == "session-2"
        assert current_account() == "session-1"
    assert current_account() is None and seen == [None]

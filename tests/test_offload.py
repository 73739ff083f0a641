"""CPU work handed to a native thread: gevent's pool under gevent, a small pool otherwise."""

import threading

import pytest
from gevent import monkey

from playground import offload


def test_a_job_runs_on_another_thread_and_hands_back_its_value():
    here = threading.get_ident()
    jobs = [offload.spawn(lambda n=n: (n * n, threading.get_ident())) for n in range(5)]
    values = [job.get() for job in jobs]
    assert [value for value, _thread in values] == [0, 1, 4, 9, 16]
    assert all(thread != here for _value, thread in values)


def test_a_jobs_failure_is_raised_where_its_value_is_asked_for():
    job = offload.spawn(int, "not a number")
    with pytest.raises(ValueError, match="not a number"):
        job.get()


def test_call_runs_in_place_without_gevent_and_on_a_native_thread_under_it(monkeypatch):
    here = threading.get_ident()
    assert offload.call(threading.get_ident) == here  # the hop would only wait for the GIL
    monkeypatch.setattr(monkey, "is_module_patched", lambda name: name == "threading")
    assert offload.call(threading.get_ident) != here
    assert offload.spawn(threading.get_ident).get() != here  # gevent's pool, real threads


def test_a_ready_value_reads_like_a_job():
    assert offload.Ready(b"lines").get() == b"lines"

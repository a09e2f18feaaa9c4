"""Threads and processes: the GIL is released while the core waits, and
several clients of one home write concurrently without losing anything."""

import socket
import subprocess
import sys
import threading
import time

import assay

TASK = "MODEL_TASK_REGRESSION"


def test_gil_is_released_while_waiting_on_the_network():
    # A loopback socket that accepts connections (backlog) but never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        client = assay.Client("127.0.0.1:%d" % port, api_key="k", disable_tls=True,
                              channel_timeout=2)
        outcome = {}

        def waiter():
            started = time.monotonic()
            try:
                client.list_projects()
            except Exception as exc:  # noqa: BLE001 - recorded and checked below
                outcome["error"] = exc
            outcome["seconds"] = time.monotonic() - started

        thread = threading.Thread(target=waiter)
        ticks = 0
        gaps = []
        thread.start()
        last = time.monotonic()
        while thread.is_alive():
            ticks += 1
            sum(range(1000))  # pure-Python work needing the GIL
            now = time.monotonic()
            gaps.append(now - last)
            last = now
        thread.join()
        client.close()
    assert isinstance(outcome.get("error"), assay.TimeoutError), outcome
    assert isinstance(outcome["error"], assay.TransportError)
    assert outcome["seconds"] >= 1.5
    # The main thread kept running the whole time.
    assert ticks > 1000
    assert max(gaps) < 1.0, max(gaps)  # the C call waits 2 s; the GIL is free meanwhile


def test_threads_share_one_client(platform):
    with platform.client() as client:
        errors = []

        def work(n):
            try:
                for i in range(10):
                    client.create_project("shared-%d-%d" % (n, i), "", TASK)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(client.list_projects()) == 40


def create_in_threads(home, tags, per_client):
    """Each tag's thread opens its own embedded client of `home` and creates
    `per_client` projects; returns the errors raised."""
    errors = []

    def work(tag):
        try:
            with assay.Client(home=home) as client:
                for i in range(per_client):
                    client.create_project("%s-%d" % (tag, i), "", TASK)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(tag,)) for tag in tags]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_two_embedded_clients_in_threads(tmp_path):
    with assay.Client(home=tmp_path):
        pass  # the home exists; the threads race on writes only
    assert create_in_threads(tmp_path, "ab", 50) == []
    with assay.Client(home=tmp_path) as client:
        names = sorted(p.name for p in client.list_projects())
    assert names == sorted("%s-%d" % (tag, i) for tag in "ab" for i in range(50))


def test_two_threads_open_a_fresh_home_together(tmp_path):
    for attempt in range(5):
        home = tmp_path / ("home-%d" % attempt)
        assert create_in_threads(home, "ab", 3) == []
        with assay.Client(home=home) as client:
            assert len(client.list_projects()) == 6


CHILD = """
import sys, assay
home, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with assay.Client(home=home) as client:
    for i in range(count):
        client.create_project("%s-%d" % (tag, i), "", "MODEL_TASK_REGRESSION")
"""


def test_two_embedded_clients_in_processes(tmp_path, python_env):
    per_process = 50
    with assay.Client(home=tmp_path):
        pass  # create the home first, so the children only race on writes
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), tag,
                                  str(per_process)],
                                 env=python_env, stderr=subprocess.PIPE, text=True)
                for tag in ("p", "q")]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert err == ""
    with assay.Client(home=tmp_path) as client:
        names = sorted(p.name for p in client.list_projects())
    assert names == sorted("%s-%d" % (tag, i) for tag in "pq" for i in range(per_process))


def test_two_processes_open_a_fresh_home_together(tmp_path, python_env):
    for attempt in range(3):
        home = tmp_path / ("home-%d" % attempt)
        children = [subprocess.Popen([sys.executable, "-c", CHILD, str(home), tag, "3"],
                                     env=python_env, stderr=subprocess.PIPE, text=True)
                    for tag in ("x", "y")]
        for child in children:
            _, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
        with assay.Client(home=home) as client:
            assert len(client.list_projects()) == 6

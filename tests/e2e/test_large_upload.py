"""tests/e2e/test_large_upload.py — a 3 GiB file uploads through a real
assayd without either side holding it in memory.

The file is sparse-ish (a hole with a few MiB of random bytes every 256
MiB), so it is made in a moment; the server still receives and writes all
3 GiB. A child Python process uploads it with ``assay.Client.upload_file``
over HTTP while this process samples the resident memory (psutil) of the
child and of assayd: neither may grow by more than ``RSS_GROWTH_MAX`` (a
whole-file buffer would be 3 GiB). The BLAKE2b-256 the server recorded must
be hashlib's of the file, and the server's body limit (--max-body, 16 MiB by
default) does not apply to the streamed upload.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest
from assayd_process import BUILD_DIR, Assayd

SIZE = 3 << 30
BLOCK = 4 << 20
STRIDE = 256 << 20
RSS_GROWTH_MAX = 200 << 20

CHILD = r"""
import json, sys
import assay
client = assay.Client(domain=sys.argv[1], api_key=sys.argv[2], channel_timeout=60)
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps({"location": client.upload_file(sys.argv[3], upload_path="big")}), flush=True)
"""


def make_file(path):
    """SIZE bytes: random blocks every STRIDE bytes and at the end, holes between."""
    with open(path, "wb") as f:
        f.truncate(SIZE)
        for offset in list(range(0, SIZE, STRIDE)) + [SIZE - BLOCK]:
            f.seek(offset)
            f.write(os.urandom(BLOCK))


def blake2b_of(path):
    h = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


class PeakRss:
    """Samples the RSS of some processes in a thread; the peak of each."""

    def __init__(self, procs):
        self.procs = procs
        self.peak = {name: p.memory_info().rss for name, p in procs.items()}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for name, p in self.procs.items():
                try:
                    self.peak[name] = max(self.peak[name], p.memory_info().rss)
                except psutil.NoSuchProcess:
                    pass
            self.samples += 1
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BUILD_DIR / "python"),
                                                      env.get("PYTHONPATH")]))
    return env


def test_3gib_upload_streams(tmp_path):
    home, data = tmp_path / "home", tmp_path / "big.bin"
    free = shutil.disk_usage(tmp_path).free
    # the file, its stored copy, and room to spare
    assert free > 2 * SIZE + (1 << 30), (
        "this test needs %.1f GiB free in %s (it has %.1f GiB): set TMPDIR to a roomier disk"
        % ((2 * SIZE + (1 << 30)) / (1 << 30), tmp_path, free / (1 << 30)))
    home.mkdir()
    make_file(data)
    server = Assayd(home)
    child = None
    try:
        child = subprocess.Popen([sys.executable, "-c", CHILD, server.url, server.token,
                                  str(data)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=python_env())
        ready = child.stdout.readline()
        assert ready.strip() == "ready", "child failed: %s%s" % (ready, child.stderr.read())
        procs = {"assayd": psutil.Process(server.proc.pid), "client": psutil.Process(child.pid)}
        base = {name: p.memory_info().rss for name, p in procs.items()}
        started = time.monotonic()
        with PeakRss(procs) as rss:
            child.stdin.write("go\n")
            child.stdin.flush()
            want = blake2b_of(data)  # meanwhile, here
            out, err = child.communicate(timeout=180)
        took = time.monotonic() - started
        assert child.returncode == 0, "upload failed: %s" % err
        location = json.loads(out.strip().splitlines()[-1])["location"]
        assert location == "assay://files/big/big.bin"
        assert rss.samples > 10
        for name in procs:
            grew = rss.peak[name] - base[name]
            assert grew < RSS_GROWTH_MAX, "%s grew by %d MiB during the upload (%.1f s)" % (
                name, grew >> 20, took)

        # The record: size and the content's BLAKE2b-256, as hashlib has it.
        req = urllib.request.Request(server.url + "/v1/files?" + urllib.parse.urlencode(
            {"prefix": "big"}), headers={"Authorization": "Bearer " + server.token})
        with urllib.request.urlopen(req, timeout=30) as r:
            files = json.load(r)["files"]
        assert [f["location"] for f in files] == [location]
        assert files[0]["size"] == SIZE
        assert files[0]["blake2b"] == want
        stored = next((home / "files").glob("*/big/big.bin"))
        assert stored.stat().st_size == SIZE
        assert not list((home / "files" / ".incoming").iterdir())
    finally:
        if child and child.poll() is None:
            child.kill()
            child.wait()
        rc = server.stop(timeout=30)
        # 3 GiB twice: do not leave it to pytest's kept temporary directories.
        data.unlink(missing_ok=True)
        shutil.rmtree(home, ignore_errors=True)
    assert rc == 0, "assayd exited %d; stderr: %s" % (rc, server.stderr)

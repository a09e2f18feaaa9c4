"""A real ``assayd`` for the Python test suites (tests/python, tests/e2e).

``Assayd(home, *args)`` starts ``$ASSAY_BUILD_DIR/core/tools/assayd`` (default:
``build/`` of this checkout) on a free loopback port with its own home, reads
the port from its first stdout line, and reads the admin token from the home.
``stop()`` sends a signal and returns the exit code. A server that fails to
start is killed at once, never left behind. Its stderr goes to a temporary
file (a pipe nobody reads could fill up and block it).
"""

import os
import re
import select
import signal
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("ASSAY_BUILD_DIR") or ROOT / "build").resolve()
ASSAYD = BUILD_DIR / "core" / "tools" / "assayd"
ASSAY = BUILD_DIR / "core" / "tools" / "assay"
LISTENING = re.compile(r"^assayd listening on (https?)://(\S+):(\d+) \(home (.*)\)$")


class Assayd:
    """A running assayd (or ``assay serve``, via ``command``) process."""

    def __init__(self, home, *args, command=None, timeout=30):
        if command is None and not ASSAYD.exists():
            raise AssertionError("assayd is not built at %s (set ASSAY_BUILD_DIR)" % ASSAYD)
        self.home = Path(home)
        self.stderr = ""
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [*(command or [str(ASSAYD)]), "--home", str(self.home), "--listen", "127.0.0.1:0",
             *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        try:
            line = self._first_line(timeout)
            match = LISTENING.match(line.rstrip("\n"))
            if not match:
                raise AssertionError("assayd did not start: %r; stderr: %s"
                                     % (line, self.read_stderr()))
            assert Path(match.group(4)) == self.home.resolve()
            self.port = int(match.group(3))
            self.url = "http://127.0.0.1:%d" % self.port
            self.token = (self.home / "admin.token").read_text().strip()
        except BaseException:
            self.stop(signal.SIGKILL)
            raise

    def _first_line(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                return self.proc.stdout.readline()
            if self.proc.poll() is not None:
                break
        return ""

    def running(self):
        return self.proc.poll() is None

    def read_stderr(self):
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Send `sig`, wait up to `timeout` s (then SIGKILL); the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if not self._stderr.closed:
            self.stderr = self.read_stderr()
            self._stderr.close()
        if not self.proc.stdout.closed:
            self.proc.stdout.close()
        return self.proc.returncode

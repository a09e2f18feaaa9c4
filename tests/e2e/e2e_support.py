"""Helpers shared by the end-to-end tests: where the build is, and a real
``assayd`` process started on a free loopback port with its own home.

``ASSAY_BUILD_DIR`` names the build (default: ``build/`` of this checkout).
"""

import os
import re
import select
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("ASSAY_BUILD_DIR") or ROOT / "build").resolve()
ASSAYD = BUILD_DIR / "core" / "tools" / "assayd"
ASSAY = BUILD_DIR / "core" / "tools" / "assay"
LISTENING = re.compile(r"^assayd listening on (https?)://(\S+):(\d+) \(home (.*)\)$")


class Daemon:
    """A running assayd (or `assay serve`) process."""

    def __init__(self, home, *args, command=None):
        self.home = Path(home)
        cmd = command or [str(ASSAYD)]
        self.proc = subprocess.Popen(
            [*cmd, "--home", str(self.home), "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            ready, _, _ = select.select([self.proc.stdout], [], [], 30)
            line = self.proc.stdout.readline() if ready else ""
            match = LISTENING.match(line.rstrip("\n"))
            if not match:
                self.proc.kill()
                _, err = self.proc.communicate()
                raise AssertionError("assayd did not start: %r; stderr: %s" % (line, err))
            assert Path(match.group(4)) == self.home.resolve()
            self.port = int(match.group(3))
            self.url = "http://127.0.0.1:%d" % self.port
            self.token = (self.home / "admin.token").read_text().strip()
        except BaseException:
            if self.proc.poll() is None:  # never leave a half-started server behind
                self.proc.kill()
                self.proc.wait()
            raise

    def stop(self, sig=signal.SIGTERM, timeout=5):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode

# SPDX-License-Identifier: MIT
"""A QEMU blade that runs while the test acts: started in the background,
its console read line by line with the host's arrival time of each, waited
on by regex, stopped by PID.  helpers.BladeRunner.boot() runs a boot to its
end; this is for tests that change something on the image server while a
blade is up (dim sync_image under a running blade) and time what it sees.
"""

import os
import re
import signal
import subprocess
import threading
import time

import helpers


class LiveBlade:
    def __init__(self, state, name, mac, kernel, initrd, log_dir, append="", arch="ppc64le",
                 log_name=None):
        self.name = name
        self.log_path = os.path.join(log_dir, (log_name or name) + ".log")
        self.pidfile = os.path.join(log_dir, (log_name or name) + ".pid")
        os.makedirs(log_dir, exist_ok=True)
        self.kernel = kernel
        argv = [os.path.join(helpers.QEMU_DIR, "blade"), state, name, "--mac", mac,
                "--pidfile", self.pidfile, "--arch", arch, "--kernel", kernel, "--initrd", initrd]
        if append:
            argv += ["--append", append]
        self.lines = []             # (host seconds since start, line)
        self.cond = threading.Condition()
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self.cond:
                self.lines.append((time.monotonic() - self.t0, line))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def now(self):
        """Seconds since QEMU started, on the clock of the arrival times."""
        return time.monotonic() - self.t0

    def matching(self, regex):
        r = re.compile(regex)
        with self.cond:
            return [(t, l) for t, l in self.lines if r.search(l)]

    def wait(self, regex, count=1, timeout=120):
        """The first COUNT (arrival, line) pairs matching REGEX, or what there
        is after TIMEOUT seconds or when QEMU has exited."""
        r = re.compile(regex)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [(t, l) for t, l in self.lines if r.search(l)]
                if len(got) >= count:
                    return got[:count]
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    return got
                self.cond.wait(min(left, 0.5))

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def text(self):
        with self.cond:
            return "\n".join(l for _, l in self.lines)

    def excerpt(self, n=40):
        return "\n".join(self.text().splitlines()[-n:])

    def stop(self):
        """qemu/blade gets SIGTERM (it stops QEMU and deletes its tap); a QEMU
        left behind is killed by its PID if its command line is ours."""
        qpid = None
        try:
            with open(self.pidfile) as f:
                qpid = int(f.read().strip())
        except (OSError, ValueError):
            pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if qpid:
            try:
                with open("/proc/%d/cmdline" % qpid, "rb") as f:
                    ours = self.kernel.encode() in f.read()
            except OSError:
                ours = False
            if ours:
                os.kill(qpid, signal.SIGKILL)
        self.reader.join(5)
        with open(self.log_path, "w") as f:
            f.write("".join("[%7.2f] %s\n" % (t, l) for t, l in self.lines))

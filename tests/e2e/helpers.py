# SPDX-License-Identifier: MIT
"""Drive the virtual image server and blades of qemu/ from Python.

Everything here starts real programs (qemu/fetch, qemu/imageserver,
qemu/blade) and stops exactly the processes it started, by PID.
"""

import os
import re
import signal
import subprocess
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
QEMU_DIR = os.path.join(REPO, "qemu")

# Every linuxrc message: dim[SSSSS.mmm] STEP: text
DIM_LINE = r"dim\[\s*\d+\.\d{3}\]"
TIMELINE_RE = re.compile(DIM_LINE + r" init: timeline (?P<fields>.*)")
TIMELINE_STEPS = ("kernel", "console", "cmdline", "modules", "link", "dhcp", "netconf",
                  "ro-mount", "rw-mount", "root", "switch-root", "total")


def run(argv, **kw):
    """Run a command; on failure raise with its output, which pytest shows."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError("%s exited with %d:\n%s" % (" ".join(argv), p.returncode, p.stdout[-4000:]))
    return p.stdout


def key_values(text):
    """KEY=value lines (qemu/fetch's output) as a dict."""
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition("=")
        if sep and re.fullmatch(r"[A-Z_]+", k):
            out[k] = v
    return out


def fetch(what, arch, cache):
    return key_values(run([os.path.join(QEMU_DIR, "fetch"), what, arch, cache]))


def parse_timeline(text):
    """The linuxrc's timeline line as {step: seconds}, or None."""
    m = None
    for m in TIMELINE_RE.finditer(text):
        pass
    if m is None:
        return None
    steps = {}
    for field in m.group("fields").split():
        k, sep, v = field.partition("=")
        if sep:
            try:
                steps[k] = float(v)
            except ValueError:
                pass
    return steps


class ImageServer:
    """qemu/imageserver up/down around one state directory."""

    def __init__(self, state, root, blades_file, name=None, tftp=False, ra=False):
        self.state, self.root, self.blades_file, self.name = state, root, blades_file, name
        self.tftp = tftp            # also serve ROOT/tftp with tftpd-hpa
        self.ra = ra                # and IPv6 router advertisements (iPXE waits for one)
        self.up_seconds = None

    def up(self):
        argv = [os.path.join(QEMU_DIR, "imageserver"), "up", self.state,
                "--root", self.root, "--blades", self.blades_file]
        if self.name:
            argv += ["--name", self.name]
        if self.tftp:
            argv += ["--tftp"]
        if self.ra:
            argv += ["--ra"]
        t0 = time.monotonic()
        run(argv)
        self.up_seconds = time.monotonic() - t0

    def down(self):
        subprocess.run([os.path.join(QEMU_DIR, "imageserver"), "down", self.state],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def log(self, name):
        try:
            with open(os.path.join(self.state, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Boot:
    """The result of one blade boot: its console text and how it ended."""

    def __init__(self, name, text, matched, seconds, returncode, log_path, raw=b"", arrivals=()):
        self.name = name
        self.text = text
        self.raw = raw                  # the console bytes as they came
        self.arrivals = arrivals        # (seconds since QEMU start, bytes so far)
        self.matched = matched          # the wait condition was met
        self.seconds = seconds          # QEMU start to the match (or to the end)
        self.returncode = returncode    # None when QEMU was still running and we stopped it
        self.log_path = log_path

    def lines(self, regex):
        return [l for l in self.text.splitlines() if re.search(regex, l)]

    def timeline(self):
        return parse_timeline(self.text)

    def seconds_to(self, regex):
        """Seconds from QEMU's start until a console line matching REGEX
        arrived (as the host saw it), or None."""
        # latin-1 maps byte offsets 1:1 to string offsets.
        m = re.search(regex, self.raw.decode("latin-1"), re.M)
        if not m:
            return None
        for t, length in self.arrivals:
            if length >= m.end():
                return t
        return None

    def excerpt(self, n=40):
        return "\n".join(self.text.splitlines()[-n:])

    def __repr__(self):
        return "<Boot %s matched=%s %.1fs log=%s>" % (self.name, self.matched, self.seconds, self.log_path)


class BladeRunner:
    """Boots blades with qemu/blade and always stops them again.  With
    kernel=None the blades boot through their firmware from the network
    (qemu/blade --netboot) instead of -kernel/-initrd."""

    def __init__(self, server, kernel, initrd, log_dir, arch="ppc64le"):
        self.server, self.kernel, self.initrd, self.arch = server, kernel, initrd, arch
        self.log_dir = log_dir
        self.started = []           # (Popen of qemu/blade, pidfile)
        self._marks = {}            # pidfile: bytes only our QEMU's command line holds
        self._lock = threading.Lock()
        os.makedirs(log_dir, exist_ok=True)
        try:
            os.unlink(os.path.join(log_dir, "timings.txt"))
        except FileNotFoundError:
            pass

    def boot(self, name, mac, append="", until=None, count=1, timeout=120, wait_exit=False,
             log_name=None, extra=()):
        """Boot blade NAME and wait until the regex UNTIL has matched COUNT
        console lines (or QEMU exits, or TIMEOUT seconds pass).  With
        WAIT_EXIT, then also wait for QEMU to exit by itself (the guest
        powering off).  EXTRA: more qemu/blade options (--nic virtio).
        QEMU is always stopped before this returns."""
        log_path = os.path.join(self.log_dir, (log_name or name) + ".log")
        pidfile = os.path.join(self.log_dir, (log_name or name) + ".pid")
        argv = [os.path.join(QEMU_DIR, "blade"), self.server.state, name, "--mac", mac,
                "--pidfile", pidfile, "--arch", self.arch]
        if self.kernel is None:
            argv += ["--netboot"]
            self._marks[pidfile] = ("mac=" + mac).encode()
        else:
            argv += ["--kernel", self.kernel, "--initrd", self.initrd]
            self._marks[pidfile] = self.kernel.encode()
        argv += list(extra)
        if append:
            argv += ["--append", append]
        pattern = re.compile(until) if until else None
        chunks = []
        arrivals = []
        lock = threading.Lock()
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append((proc, pidfile))

        def reader():
            total = 0
            for raw in iter(lambda: proc.stdout.read1(4096), b""):
                with lock:
                    chunks.append(raw)
                    total += len(raw)
                    arrivals.append((time.monotonic() - t0, total))

        th = threading.Thread(target=reader, daemon=True)
        th.start()

        def text():
            with lock:
                return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")

        matched = False
        t_match = None
        deadline = t0 + timeout
        try:
            while time.monotonic() < deadline:
                if pattern is not None and len([l for l in text().splitlines() if pattern.search(l)]) >= count:
                    matched = True
                    t_match = time.monotonic()
                    break
                if proc.poll() is not None:
                    th.join(2)
                    if pattern is not None and len([l for l in text().splitlines()
                                                     if pattern.search(l)]) >= count:
                        matched = True
                        t_match = time.monotonic()
                    break
                time.sleep(0.05)
            if matched and wait_exit:
                try:
                    proc.wait(max(1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
        finally:
            ended = proc.poll()
            self.stop(proc, pidfile)
            th.join(5)
        seconds = (t_match or time.monotonic()) - t0
        out = text()
        with open(log_path, "w") as f:
            f.write(out)
        with lock:
            raw = b"".join(chunks)
        boot = Boot(name, out, matched, seconds, ended, log_path, raw, list(arrivals))
        self._note_timing(log_name or name, boot)
        return boot

    def _note_timing(self, label, boot):
        """One line per boot in LOG_DIR/timings.txt: host-side seconds from
        QEMU start to the linuxrc's first line, to exec of init, to the
        master's marker; and the linuxrc's own total."""
        def fmt(v):
            return "-" if v is None else "%.2f" % v
        tl = boot.timeline() or {}
        line = "%-16s first-dim-line=%s exec-init=%s marker=%s linuxrc-total=%s\n" % (
            label, fmt(boot.seconds_to(DIM_LINE)), fmt(boot.seconds_to(DIM_LINE + r" init: exec")),
            fmt(boot.seconds_to(r"^DIM-MARKER")), fmt(tl.get("total")))
        with self._lock:
            with open(os.path.join(self.log_dir, "timings.txt"), "a") as f:
                f.write(line)

    def stop(self, proc, pidfile):
        """Stop one blade: SIGTERM to qemu/blade (it stops QEMU and deletes
        its tap), then QEMU itself by its PID if it is still there."""
        qpid = None
        try:
            with open(pidfile) as f:
                qpid = int(f.read().strip())
        except (OSError, ValueError):
            pass
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if qpid and _pid_alive(qpid):
            # qemu/blade died without stopping QEMU: is it still our QEMU?
            try:
                with open("/proc/%d/cmdline" % qpid, "rb") as f:
                    ours = self._marks.get(pidfile, b"\0") in f.read()
            except OSError:
                ours = False
            if ours:
                os.kill(qpid, signal.SIGKILL)

    def stop_all(self):
        for proc, pidfile in self.started:
            self.stop(proc, pidfile)

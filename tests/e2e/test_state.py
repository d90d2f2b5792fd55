# SPDX-License-Identifier: MIT
"""dim's state store (server/state.c) under real processes: two writers at
once, readers during a write, many writers racing on one counter, kill -9
at random moments of a large transaction, a full disk (a tiny tmpfs in a
private mount namespace), and dim list reading a state over config/small.xml.

The processes are tests/e2e/state_driver.c, built here from the current
server/state.c.  Run as root (the full-disk test mounts a tmpfs):
    O=<absolute build dir> /usr/bin/python3 -m pytest -q tests/e2e/test_state.py
DIM_STATE_KILLS sets the number of kill -9 rounds (default 50),
DIM_STATE_SEED their random seed; the outcome of each round is written to
$O/e2e/state/kill9.log.
"""

import collections
import json
import os
import pwd
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KILL_BLADES = 20000
KILL_ROUNDS = int(os.environ.get("DIM_STATE_KILLS", "50"))
USER = pwd.getpwuid(os.getuid()).pw_name


def _out_dir():
    o = os.environ.get("O")
    if o and os.path.isabs(o):
        d = os.path.join(o, "e2e", "state")
        os.makedirs(d, exist_ok=True)
        return d
    return tempfile.mkdtemp(prefix="dim-state-")


@pytest.fixture(scope="module")
def out_dir():
    return _out_dir()


@pytest.fixture(scope="module")
def driver(out_dir):
    """state_driver, compiled from this tree's state.c."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        pytest.fail("no C compiler")
    exe = os.path.join(out_dir, "state_driver")
    try:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "sqlite3"], check=True,
                               stdout=subprocess.PIPE, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        flags = ["-lsqlite3"]
    argv = [cc, "-O2", "-g", "-std=gnu11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
            "-I", os.path.join(REPO, "server"), "-I", os.path.join(REPO, "linuxrc"),
            os.path.join(REPO, "tests", "e2e", "state_driver.c"),
            os.path.join(REPO, "server", "state.c"), os.path.join(REPO, "server", "err.c"),
            os.path.join(REPO, "server", "mac.c"),
            "-o", exe] + flags
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        pytest.fail("building state_driver failed:\n" + p.stdout, pytrace=False)
    return exe


class Procs:
    """Processes a test started; whatever is left is killed by PID at the end."""

    def __init__(self):
        self.started = []

    def start(self, argv):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.started.append(p)
        return p

    def cleanup(self):
        for p in self.started:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
            p.wait()
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()


@pytest.fixture
def procs():
    ps = Procs()
    try:
        yield ps
    finally:
        ps.cleanup()


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "state.db")


def drive(driver, db, *args, prefix=(), timeout=120):
    return subprocess.run(list(prefix) + [driver, db] + [str(a) for a in args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def ok(p):
    assert p.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout,
                                                                     p.stderr)
    return p


def expect_line(p, word, timeout=20):
    """Read p's stdout up to the line starting with word; its fields."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        if line.split()[0] == word:
            return line.split()
    raise AssertionError("%s never said %r (exit %s): %s" % (p.args, word, p.poll(),
                                                             p.stderr.read()))


def lines_of(text, word):
    return [line.split() for line in text.splitlines() if line.split()[:1] == [word]]


def image_of(driver, db, blade):
    return lines_of(ok(drive(driver, db, "get", blade)).stdout, "image")[0][1]


def check(driver, db, n, prefix=()):
    """The state as the library sees it: one whole generation, which one."""
    p = drive(driver, db, "check", n, prefix=prefix)
    assert p.returncode == 0, "not one whole generation:\n%s%s" % (p.stdout, p.stderr)
    return int(re.search(r"gen=(-?\d+)", p.stdout).group(1))


def check_raw(db, n):
    """The same from SQLite directly (Python's sqlite3), and integrity_check."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        images = con.execute("SELECT DISTINCT image FROM assignments").fetchall()
        macs = con.execute("SELECT DISTINCT substr(mac, 1, 11) FROM macs").fetchall()
        counts = con.execute("SELECT (SELECT count(*) FROM macs), "
                             "(SELECT count(*) FROM assignments), "
                             "(SELECT count(*) FROM history)").fetchone()
    finally:
        con.close()
    assert len(images) == 1 and len(macs) == 1, (images, macs)
    gen = int(images[0][0].split("-")[1])
    assert macs[0][0] == "02:00:%02x:%02x" % (gen >> 8, gen & 0xff)
    assert counts == (n, n, gen + 1)
    return gen


# ---------------------------------------------------------------- two writers

def test_second_writer_waits_then_succeeds(driver, db, procs):
    ok(drive(driver, db, "init", 10))
    holder = procs.start([driver, db, "hold", "1500", "dim dhcp assign"])
    expect_line(holder, "locked")
    waiter = procs.start([driver, db, "wait", "10000", "dim dhcp mac"])
    w_out, w_err = waiter.communicate(timeout=30)
    h_out, h_err = holder.communicate(timeout=30)
    assert holder.returncode == 0, h_err
    assert waiter.returncode == 0, w_err
    got_at, waited = map(int, lines_of(w_out, "got")[0][1:3])
    released_at = int(lines_of(h_out, "releasing")[0][1])
    # It waited for the holder, and got the lock only once the holder let go.
    assert waited >= 1000, w_out
    assert got_at >= released_at
    # Both transactions are whole: the holder's, then the waiter's on top.
    assert image_of(driver, db, "s01c1b0000") == "waiter"
    con = sqlite3.connect(db)
    assert con.execute("SELECT command FROM history ORDER BY id DESC LIMIT 1").fetchone() == \
        ("dim dhcp mac",)
    con.close()


def test_second_writer_times_out_naming_the_holder(driver, db, procs):
    ok(drive(driver, db, "init", 10))
    holder = procs.start([driver, db, "hold", "2500", "dim dhcp assign"])
    expect_line(holder, "locked")
    t0 = time.monotonic()
    w = drive(driver, db, "wait", "300", "dim dhcp mac")
    elapsed = time.monotonic() - t0
    assert w.returncode == 1
    assert "got" not in w.stdout
    # One line, naming the file, the holder's pid, command and user, and since when.
    assert w.stderr.count("\n") == 1, w.stderr
    assert re.fullmatch(r"state_driver: %s: database is locked by pid %d \(dim dhcp assign, "
                        r"user %s\) since \d\d:\d\d:\d\d; gave up after 0\.\d s, try again\n"
                        % (re.escape(db), holder.pid, re.escape(USER)), w.stderr), w.stderr
    assert 0.3 <= elapsed < 2.0
    h_out, h_err = holder.communicate(timeout=30)
    assert holder.returncode == 0, h_err
    assert image_of(driver, db, "s01c1b0000") == "held"


def test_readers_are_not_blocked_and_see_no_half_transaction(driver, db, procs):
    ok(drive(driver, db, "init", 10))
    holder = procs.start([driver, db, "hold", "2000", "dim dhcp assign"])
    expect_line(holder, "locked")   # it has changed s01c1b0000, not committed
    t0 = time.monotonic()
    r = ok(drive(driver, db, "get", "s01c1b0000"))
    assert time.monotonic() - t0 < 1.0
    assert lines_of(r.stdout, "image")[0][1] == "gen-0"
    ok(drive(driver, db, "check", 10))
    holder.communicate(timeout=30)
    assert holder.returncode == 0
    assert image_of(driver, db, "s01c1b0000") == "held"


def test_racing_writers_lose_no_update(driver, db, procs):
    """Four processes, 25 read-modify-write transactions each, on one new database."""
    ps = [procs.start([driver, db, "incr", "counter", "25"]) for _ in range(4)]
    for p in ps:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert image_of(driver, db, "counter") == "n-100"
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*), count(DISTINCT command) FROM history").fetchone() == \
        (100, 100)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    con.close()


# ---------------------------------------------------------------- kill -9

STAGES = ("open", "begun", "commit", "committed", "closed")


def test_kill9_leaves_old_or_new_state(driver, db, procs, out_dir):
    n = KILL_BLADES
    seed = int(os.environ.get("DIM_STATE_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    ok(drive(driver, db, "init", n))
    # Calibrate: how long a whole run takes, and commit + checkpoint on close.
    t0 = time.monotonic()
    cal = ok(drive(driver, db, "bump", n))
    run_s = time.monotonic() - t0
    commit_ms = int(lines_of(cal.stdout, "closed")[0][1]) - int(lines_of(cal.stdout, "commit")[0][1])
    gen = check(driver, db, n)
    assert gen == 1

    log = ["seed %d, %d blades, a run takes %.0f ms, commit to closed %d ms"
           % (seed, n, run_s * 1000, commit_ms)]
    outcomes = collections.Counter()
    for rnd in range(KILL_ROUNDS):
        p = procs.start([driver, db, "bump", str(n)])
        # Even rounds: any moment of the run.  Odd: around the commit and checkpoint.
        if rnd % 2 == 0:
            delay = rng.uniform(0, run_s * 1.1)
            time.sleep(delay)
            where = "start+%.1fms" % (delay * 1000)
            seen = []
        else:
            seen = [expect_line(p, "commit")[0]]
            delay = rng.uniform(0, commit_ms * 1.2 / 1000)
            time.sleep(delay)
            where = "commit+%.1fms" % (delay * 1000)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        rest = p.stdout.read()
        seen += [w for w in (line.split()[0] for line in rest.splitlines() if line.strip())
                 if w in STAGES]
        stage = max(seen, key=STAGES.index) if seen else "none"
        died = p.returncode == -signal.SIGKILL

        after = check(driver, db, n)        # the library opens it, recovers the WAL
        assert check_raw(db, n) == after    # SQLite itself agrees; integrity_check ok
        assert after in (gen, gen + 1), "round %d: generation %d after %d" % (rnd, after, gen)
        if "committed" in seen:
            assert after == gen + 1, "round %d: a commit that returned was lost" % rnd
        if "commit" not in seen:
            assert after == gen, "round %d: a transaction that never committed is there" % rnd
        result = "new" if after == gen + 1 else "old"
        outcomes[(stage, result)] += 1
        log.append("round %2d %-16s killed=%-5s last=%-9s -> %s (generation %d)"
                   % (rnd, where, died, stage, result, after))
        gen = after

    summary = ", ".join("%s/%s: %d" % (s, r, c) for (s, r), c in sorted(outcomes.items()))
    log.append("outcomes: " + summary)
    with open(os.path.join(out_dir, "kill9.log"), "w") as f:
        f.write("\n".join(log) + "\n")
    # The kills must have landed on both sides of the commit, or the test proved nothing.
    olds = sum(c for (s, r), c in outcomes.items() if r == "old")
    news = sum(c for (s, r), c in outcomes.items() if r == "new")
    assert olds >= 3 and news >= 3, summary
    assert sum(c for (s, r), c in outcomes.items() if s in ("begun", "commit")) >= 5, summary


# ---------------------------------------------------------------- full disk

class MountNamespace:
    """A private mount namespace held open by a sleep we started; nsenter runs in it."""

    def __init__(self, procs):
        if os.geteuid() != 0:
            pytest.fail("the full-disk test needs root (a tmpfs in a mount namespace)")
        for tool in ("unshare", "nsenter", "mount"):
            if not shutil.which(tool):
                pytest.fail("%s is missing" % tool)
        self.proc = procs.start(["unshare", "-m", "--propagation", "private", "sleep", "600"])
        mine = os.readlink("/proc/self/ns/mnt")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if os.readlink("/proc/%d/ns/mnt" % self.proc.pid) != mine:
                    break
            except OSError:
                pass
            time.sleep(0.02)
        else:
            raise AssertionError("unshare -m did not start")
        self.prefix = ["nsenter", "-t", str(self.proc.pid), "-m", "--"]

    def run(self, *argv, check=True):
        p = subprocess.run(self.prefix + [str(a) for a in argv], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        if check:
            ok(p)
        return p


def test_full_disk_fails_the_commit_and_keeps_the_state(driver, procs, tmp_path):
    n = 3000
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    ns = MountNamespace(procs)
    ns.run("mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "dimstate", mnt)
    assert not os.path.ismount(mnt)     # only the namespace sees it
    db = str(mnt / "state.db")
    ok(drive(driver, db, "init", n, prefix=ns.prefix))
    assert check(driver, db, n, prefix=ns.prefix) == 0

    # Leave 160 KiB: enough to open, not for the WAL of a 3000-blade transaction.
    avail, bsize = map(int, ns.run("stat", "-f", "-c", "%a %S", mnt).stdout.split())
    count = (avail * bsize - 160 * 1024) // 4096
    assert count > 0
    ns.run("dd", "if=/dev/zero", "of=%s/fill" % mnt, "bs=4096", "count=%d" % count)

    p = drive(driver, db, "bump", n, prefix=ns.prefix)
    assert p.returncode == 1, p.stdout + p.stderr
    assert lines_of(p.stdout, "commit") and not lines_of(p.stdout, "committed"), p.stdout
    assert p.stderr == "state_driver: %s: commit: disk full\n" % db
    # The previous state, whole, as dim and as SQLite see it.
    assert check(driver, db, n, prefix=ns.prefix) == 0
    raw = ns.run(sys.executable, "-c",
                 "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                 "print(c.execute('PRAGMA integrity_check').fetchone()[0], "
                 "c.execute('SELECT count(DISTINCT image), min(image) FROM assignments')"
                 ".fetchone())", db)
    assert raw.stdout.strip() == "ok (1, 'gen-0')"

    # No space at all: a clear error before anything is written, state kept.
    ns.run("dd", "if=/dev/zero", "of=%s/fill2" % mnt, "bs=4096", check=False)
    p = drive(driver, db, "bump", n, prefix=ns.prefix)
    assert p.returncode == 1
    assert p.stderr == "state_driver: %s: open: disk full\n" % db, p.stderr
    assert p.stderr.count("\n") == 1
    ns.run("rm", "-f", "%s/fill2" % mnt)
    assert check(driver, db, n, prefix=ns.prefix) == 0

    # Space again: the same database takes the transaction.
    ns.run("rm", "-f", "%s/fill" % mnt)
    ok(drive(driver, db, "bump", n, prefix=ns.prefix))
    assert check(driver, db, n, prefix=ns.prefix) == 1


# ---------------------------------------------------------------- with the real loader

def test_dim_list_shows_the_state(driver, db):
    """dim list over config/small.xml: assignments and MACs from the state, stale
    entries a warning, a MAC the definition gives another blade an error."""
    o = os.environ.get("O")
    dim = os.path.join(o, "bin", "dim") if o else ""
    if not os.access(dim, os.X_OK):
        pytest.fail("dim is not built (make all)")
    small = os.path.join(REPO, "config", "small.xml")

    def dim_list(*args):
        return subprocess.run([dim, "list", "-c", small, "--state", db, "--json"] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60)

    ok(drive(driver, db, "assign", "s01c1b01", "other"))
    ok(drive(driver, db, "mac", "s02c1b03", "52:54:00:00:02:03"))
    ok(drive(driver, db, "assign", "s09c1b01", "master"))
    p = ok(dim_list("s01c1b01,s02c1b03"))
    rows = {r["name"]: r for r in json.loads(p.stdout)}
    assert rows["s01c1b01"]["image"] == "other"
    assert rows["s01c1b01"]["mac"] == "52:54:00:00:01:01"     # the definition's
    assert rows["s02c1b03"]["mac"] == "52:54:00:00:02:03"     # the state's
    assert "image of s09c1b01 (no such blade)" in p.stderr
    assert p.stderr.count("\n") == 1

    ok(drive(driver, db, "mac", "s01c1b02", "52:54:00:00:01:01"))
    p = dim_list()
    assert p.returncode == 1
    assert p.stdout == ""
    assert "MAC 52:54:00:00:01:01 is recorded for s01c1b02, but %s gives it to s01c1b01" \
        % small in p.stderr, p.stderr

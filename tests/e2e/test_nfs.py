# SPDX-License-Identifier: MIT
"""dim nfs against the real servers: nfs-ganesha (with rpcbind, in a network
namespace of its own, as qemu/imageserver runs it) and the kernel server's
exportfs, and dim nfs check as an NFS client (libnfs) from the management
node's address and from a blade's.

The lab: an image server namespace for s01 of config/small.xml (the
definition with a storage root of the test's own) on 10.77.0.1/24, a
management node namespace with 10.77.255.1 (the definition's) routed to it
over a veth, and a blade namespace with s01c1b02's address 10.77.0.12 on
the server's bridge.  s02 (10.77.1.1) is deliberately not served: the
management node's packets to it are dropped, as by a dead server.

Every process is started here and stopped by its PID; every namespace is
deleted again.  Timings land in $O/e2e/nfs-timings.txt.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import helpers

REPO = helpers.REPO
GOLDEN = os.path.join(REPO, "tests", "e2e", "golden", "nfs")
SMALL = os.path.join(REPO, "config", "small.xml")
MiB = 1 << 20

# small.xml: blade -> (address, image); s02c1b04 is an empty bay.
SMALL_BLADES = {
    "s01c1b01": ("10.77.0.11", "master"), "s01c1b02": ("10.77.0.12", "master"),
    "s01c1b03": ("10.77.0.13", "master"), "s01c1b04": ("10.77.0.14", "master"),
    "s02c1b01": ("10.77.1.11", "master"), "s02c1b02": ("10.77.1.12", "master"),
    "s02c1b03": ("10.77.1.13", "other"),
}
MGMT = "10.77.255.1"


def sh(argv, check=True, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def note_timing(build_dir, line):
    path = os.path.join(build_dir, "e2e", "nfs-timings.txt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        f.write(line + "\n")


class Lab:
    """Network namespaces, veths and daemons; stop() undoes all of it."""

    def __init__(self, top):
        self.top = top
        self.tag = "dn%d" % (os.getpid() % 100000)
        self.namespaces = []
        self.procs = []         # (label, Popen), stopped in reverse

    def ns(self, name):
        return "%s-%s" % (self.tag, name)

    def add_ns(self, name):
        ns = self.ns(name)
        sh(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        return ns

    def veth(self, a_ns, a_name, b_ns, b_name):
        sh(["ip", "link", "add", a_name, "type", "veth", "peer", "name", b_name])
        sh(["ip", "link", "set", a_name, "netns", a_ns])
        sh(["ip", "link", "set", b_name, "netns", b_ns])
        sh(["ip", "-n", a_ns, "link", "set", a_name, "up"])
        sh(["ip", "-n", b_ns, "link", "set", b_name, "up"])

    def server_ns(self, name, cidr):
        ns = self.add_ns(name)
        sh(["ip", "-n", ns, "link", "add", "br0", "type", "bridge"])
        sh(["ip", "-n", ns, "addr", "add", cidr, "dev", "br0"])
        sh(["ip", "-n", ns, "link", "set", "br0", "up"])
        return ns

    def start(self, label, argv, log):
        out = open(log, "w")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.procs.append((label, p))
        return p

    def rpcbind(self, ns, state):
        """rpcbind with a private /run (its socket is a file there)."""
        p = self.start("rpcbind " + ns, [
            "ip", "netns", "exec", ns, "unshare", "-m", "--propagation", "private", "--",
            "/bin/sh", "-c", "mount -t tmpfs -o mode=0755,size=16m dim-run /run && exec rpcbind -f"],
            os.path.join(state, "rpcbind.log"))
        for _ in range(100):
            if sh(["nsenter", "-t", str(p.pid), "-m", "-n", "rpcinfo", "-p", "127.0.0.1"],
                  check=False).returncode == 0:
                return p
            assert p.poll() is None, "rpcbind exited"
            time.sleep(0.1)
        raise RuntimeError("rpcbind did not come up")

    def ganesha(self, ns, rpcbind, conf, state):
        log = os.path.join(state, "ganesha.log")
        pidfile = os.path.join(state, "ganesha.pid")
        p = self.start("ganesha " + ns, [
            "nsenter", "-t", str(rpcbind.pid), "-m", "-n", "--", "ganesha.nfsd", "-F", "-L", log,
            "-f", conf, "-p", pidfile, "-N", "NIV_EVENT"], os.path.join(state, "ganesha.out"))
        for _ in range(300):
            if sh(["ip", "netns", "exec", ns, "ss", "-Hltn", "sport = :2049"]).stdout.strip() and \
                    os.path.exists(pidfile):
                return p, pidfile, log
            assert p.poll() is None, "ganesha.nfsd exited:\n" + open(log).read()[-3000:]
            time.sleep(0.1)
        raise RuntimeError("ganesha.nfsd did not come up")

    def stop(self):
        for label, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        self.procs = []
        for ns in reversed(self.namespaces):
            sh(["ip", "netns", "del", ns], check=False)
        self.namespaces = []


def ganesha_main_conf(dim, definition, server, live, state, out):
    """The ganesha.conf dim nfs write offers, plus what a throwaway test
    server needs: no grace period, recovery in its state directory, logs."""
    p = dim("nfs", "write", server, "-c", definition, "--backend", "ganesha", "--out", out,
            "--file", live)
    assert p.returncode == 0, p.stderr
    with open(os.path.join(out, server, "ganesha.conf")) as f:
        text = f.read()
    owners = "\tAllow_Numeric_Owners = true;\n\tOnly_Numeric_Owners = true;\n"
    assert owners in text and '%%include "%s"' % live in text, text
    text = text.replace(owners, owners + '\tGraceless = true;\n\tRecoveryRoot = "%s";\n'
                        % os.path.join(state, "recovery"))
    text += "LOG {\n\tDefault_Log_Level = EVENT;\n\tComponents { DBUS = FATAL; }\n}\n"
    # The tests change files behind ganesha's back and look at once: no
    # attribute caching (the default keeps attributes for 60 s).
    text += "EXPORT_DEFAULTS {\n\tAttr_Expiration_Time = 0;\n}\n"
    conf = os.path.join(state, "ganesha.conf")
    with open(conf, "w") as f:
        f.write(text)
    return conf


def make_ro(root, image, linked):
    """An RO tree with an executable init: /sbin/init, or (linked) Debian's
    way: sbin -> usr/sbin, usr/sbin/init -> /lib/systemd/systemd."""
    ro = os.path.join(root, "images", image, "ro")
    if linked:
        os.makedirs(os.path.join(ro, "usr", "sbin"))
        os.makedirs(os.path.join(ro, "lib", "systemd"))
        init = os.path.join(ro, "lib", "systemd", "systemd")
        os.symlink("usr/sbin", os.path.join(ro, "sbin"))
        os.symlink("/lib/systemd/systemd", os.path.join(ro, "usr", "sbin", "init"))
    else:
        os.makedirs(os.path.join(ro, "sbin"))
        init = os.path.join(ro, "sbin", "init")
    with open(init, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(init, 0o755)


def make_rw(root, image, blade, size):
    d = os.path.join(root, "images", image, "blades", blade)
    os.makedirs(d, exist_ok=True)
    img = os.path.join(d, "rw.img")
    with open(img, "wb"):
        pass
    os.truncate(img, size)
    os.chmod(img, 0o600)


@pytest.fixture(scope="module")
def dim(build_dir):
    exe = os.path.join(build_dir, "bin", "dim")

    def run(*args, ns=None, timeout=120):
        argv = [exe] + list(args)
        if ns:
            argv = ["ip", "netns", "exec", ns] + argv
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout)
    return run


@pytest.fixture(scope="module")
def lab(build_dir, dim):
    """small.xml's s01 served by a real ganesha; the management node and blade s01c1b02 beside it."""
    top = tempfile.mkdtemp(prefix="dim-e2e-nfs-")
    storage = os.path.join(top, "storage")
    state = os.path.join(top, "s01")
    os.makedirs(state)
    with open(SMALL) as f:
        xml = f.read()
    assert 'storage="/var/lib/dim"' in xml
    definition = os.path.join(top, "small.xml")
    with open(definition, "w") as f:
        f.write(xml.replace('storage="/var/lib/dim"', 'storage="%s"' % storage))
    make_ro(storage, "master", linked=True)
    make_ro(storage, "other", linked=False)
    for blade, (_, image) in SMALL_BLADES.items():
        make_rw(storage, image, blade, 64 * MiB)

    live = os.path.join(state, "dim-exports.conf")
    l = Lab(top)
    try:
        srv = l.server_ns("s01", "10.77.0.1/24")
        mgmt = l.add_ns("mgmt")
        blade = l.add_ns("b02")
        l.veth(mgmt, l.tag + "m", srv, l.tag + "ms")
        sh(["ip", "-n", mgmt, "addr", "add", MGMT + "/24", "dev", l.tag + "m"])
        sh(["ip", "-n", srv, "addr", "add", "10.77.255.2/24", "dev", l.tag + "ms"])
        sh(["ip", "-n", mgmt, "route", "add", "10.77.0.0/16", "via", "10.77.255.2"])
        l.veth(blade, l.tag + "b", srv, l.tag + "bs")
        sh(["ip", "-n", srv, "link", "set", l.tag + "bs", "master", "br0"])
        sh(["ip", "-n", blade, "addr", "add", "10.77.0.12/24", "dev", l.tag + "b"])

        conf = ganesha_main_conf(dim, definition, "s01", live, state, os.path.join(top, "out"))
        p = dim("nfs", "install", "s01", "-c", definition, "--state", os.path.join(top, "none.db"),
                "--backend", "ganesha", "--file", live, "--no-reload", "--ganesha-conf", conf)
        assert p.returncode == 0, p.stderr
        assert "warning" not in p.stderr, p.stderr
        rpcbind = l.rpcbind(srv, state)
        ganesha, pidfile, log = l.ganesha(srv, rpcbind, conf, state)
        yield {"top": top, "definition": definition, "storage": storage, "state": state,
               "live": live, "conf": conf, "pidfile": pidfile, "log": log, "ganesha": ganesha,
               "ns": {"srv": srv, "mgmt": mgmt, "blade": blade},
               "common": ["-c", definition, "--state", os.path.join(top, "none.db")]}
    finally:
        l.stop()
        keep = os.path.join(build_dir, "e2e", "nfs")
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(state, keep, ignore=shutil.ignore_patterns("recovery"), dirs_exist_ok=True)
        shutil.rmtree(top, ignore_errors=True)


def install(dim, lab, *extra):
    return dim("nfs", "install", "s01", *lab["common"], "--backend", "ganesha", "--file",
               lab["live"], "--pid-file", lab["pidfile"], "--ganesha-conf", lab["conf"], *extra)


def check(dim, lab, *args, ns="mgmt", timeout=60):
    return dim("nfs", "check", *lab["common"], *args, ns=lab["ns"][ns], timeout=timeout)


def line_of(out, blade):
    for line in out.splitlines():
        if line.split()[:1] == [blade]:
            return line
    raise AssertionError("no line for %s in:\n%s" % (blade, out))


# ---------------------------------------------------------------- golden files

@pytest.mark.parametrize("backend,files", [
    ("kernel", ["dim.exports"]),
    ("ganesha", ["dim-exports.conf", "ganesha.conf"]),
])
def test_golden_small(dim, tmp_path, backend, files):
    """dim nfs write for config/small.xml, byte for byte.  DIM_UPDATE_GOLDEN=1
    rewrites the golden files (then look at the diff before committing)."""
    p = dim("nfs", "write", "-c", SMALL, "--state", str(tmp_path / "none.db"), "--backend",
            backend, "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    for server in ("s01", "s02"):
        for name in files:
            got = (tmp_path / server / name).read_text()
            gold = os.path.join(GOLDEN, backend, server, name)
            if os.environ.get("DIM_UPDATE_GOLDEN"):
                os.makedirs(os.path.dirname(gold), exist_ok=True)
                with open(gold, "w") as f:
                    f.write(got)
            with open(gold) as f:
                assert got == f.read(), "%s differs from %s" % (tmp_path / server / name, gold)
        # nothing else, no temporary files left
        assert sorted(os.listdir(tmp_path / server)) == sorted(files)


def test_assignment_moves_export(dim, tmp_path):
    """dim dhcp assign (the state) moves a blade's RW export to the new image's
    tree, with the new image's id; the other exports keep theirs."""
    common = ["-c", SMALL, "--state", str(tmp_path / "state.db")]
    before = dim("nfs", "write", "s01", *common, "--backend", "kernel")
    assert before.returncode == 0, before.stderr
    p = dim("dhcp", "assign", "other", "s01c1b01", *common, "-o", str(tmp_path / "dhcp"),
            "--no-check")
    assert p.returncode == 0, p.stderr
    after = dim("nfs", "write", "s01", *common, "--backend", "kernel")
    assert after.returncode == 0, after.stderr
    assert "/var/lib/dim/images/master/blades/s01c1b01 " in before.stdout
    assert "/var/lib/dim/images/master/blades/s01c1b01 " not in after.stdout
    assert re.search(r"^/var/lib/dim/images/other/ro 10\.77\.0\.0/24\(\S*fsid=2048\)", after.stdout, re.M)
    assert re.search(r"^/var/lib/dim/images/other/blades/s01c1b01 10\.77\.0\.11\(\S*,fsid=2049\)",
                     after.stdout, re.M), after.stdout
    for line in before.stdout.splitlines():
        if "s01c1b01" not in line:
            assert line in after.stdout.splitlines()


# ---------------------------------------------------------------- ganesha

def test_check_from_management_node(dim, lab):
    """Every blade of s01 passes, one line each, from the management node's address."""
    p = check(dim, lab, "s01")
    assert p.returncode == 0, p.stdout + p.stderr
    ro = "10.77.0.1:%s/images/master/ro" % lab["storage"]
    for blade in ("s01c1b01", "s01c1b02", "s01c1b03", "s01c1b04"):
        assert re.fullmatch(r"%s  ok      ro %s \(NFS 4\), rw rw\.img 64M" % (blade, re.escape(ro)),
                            line_of(p.stdout, blade)), p.stdout
    assert re.search(r"^4 blades: 4 ok, 0 failed \(5 mounts in [0-9.]+ s\)$", p.stdout, re.M), p.stdout


@pytest.mark.parametrize("version", ["3", "4"])
def test_check_each_version(dim, lab, version):
    """Both protocols: the init behind sbin -> usr/sbin -> /lib/systemd/systemd is found
    inside the export over each (libnfs alone gets absolute links wrong)."""
    p = check(dim, lab, "--nfs", version, "s01c1b01,s01c1b03")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "(NFS %s), rw rw.img 64M" % version in line_of(p.stdout, "s01c1b03")


def test_rw_refused_to_another_blade(dim, lab):
    """From s01c1b02's address: its own RW directory mounts, s01c1b01's is refused
    (ganesha enforces the generated CLIENT list), over NFSv3 and NFSv4."""
    p = check(dim, lab, "s01c1b02", ns="blade")
    assert p.returncode == 0, p.stdout + p.stderr
    rw = "10.77.0.1:%s/images/master/blades/s01c1b01" % lab["storage"]
    p = check(dim, lab, "--nfs", "3", "s01c1b01", ns="blade")
    assert p.returncode == 1
    assert line_of(p.stdout, "s01c1b01").endswith(
        "FAILED  rw %s: not exported to this host (not in its export list); ro ok" % rw), p.stdout
    p = check(dim, lab, "--nfs", "4", "s01c1b01", ns="blade")
    assert p.returncode == 1
    assert "FAILED  rw %s: not exported, or not to this host (NFS 4: " % rw in \
        line_of(p.stdout, "s01c1b01"), p.stdout


def test_check_reports_failures(dim, lab):
    """Missing rw.img, wrong size, missing init, missing export: each named."""
    st = lab["storage"]
    b01 = os.path.join(st, "images", "master", "blades", "s01c1b01", "rw.img")
    b02 = os.path.join(st, "images", "master", "blades", "s01c1b02", "rw.img")
    init = os.path.join(st, "images", "master", "ro", "lib", "systemd", "systemd")
    os.rename(b01, b01 + ".away")
    os.truncate(b02, 0)
    os.chmod(init, 0o644)
    try:
        p = check(dim, lab, "s01c1b01,s01c1b02")
        assert p.returncode == 1
        l1, l2 = line_of(p.stdout, "s01c1b01"), line_of(p.stdout, "s01c1b02")
        assert "FAILED  ro 10.77.0.1:%s/images/master/ro: init /sbin/init (/lib/systemd/systemd) " \
               "is not executable (mode 0644); rw 10.77.0.1:%s/images/master/blades/s01c1b01: " \
               "no rw.img in it" % (st, st) in l1, p.stdout
        assert l2.endswith("rw.img is 0 bytes instead of 64M"), p.stdout
        assert "2 blades: 0 ok, 2 failed" in p.stdout
    finally:
        os.rename(b01 + ".away", b01)
        os.truncate(b02, 64 * MiB)
        os.chmod(init, 0o755)
    p = check(dim, lab, "s01c1b01,s01c1b02")
    assert p.returncode == 0, p.stdout


def test_rw_directory_must_be_searchable(dim, lab):
    """The management node's access is root-squashed: a RW directory of mode 0700
    hides rw.img from it (dim image must make them 0711 or wider)."""
    d = os.path.join(lab["storage"], "images", "master", "blades", "s01c1b03")
    os.chmod(d, 0o700)
    try:
        p = check(dim, lab, "s01c1b03")
    finally:
        os.chmod(d, 0o755)
    assert p.returncode == 1
    assert re.search(r"FAILED  rw 10\.77\.0\.1:\S+/s01c1b03: rw\.img: .*(ACCES|ermission)",
                     line_of(p.stdout, "s01c1b03")), p.stdout


def test_unreachable_server_bounded(dim, lab):
    """s02 does not answer at all: its blades fail within the timeout, not libnfs's forever."""
    t0 = time.monotonic()
    p = check(dim, lab, "--timeout", "1", "s02,s01c1b01")
    took = time.monotonic() - t0
    assert p.returncode == 1
    for blade in ("s02c1b01", "s02c1b02", "s02c1b03"):
        assert line_of(p.stdout, blade).endswith(
            "FAILED  image server s02 (10.77.1.1) unreachable: no answer in 1 s"), p.stdout
    assert " ok " in line_of(p.stdout, "s01c1b01")
    assert took < 5, "took %.1f s" % took


def test_reload_adds_and_removes_exports(dim, lab, build_dir):
    """A directory not there yet is left out (and named); once it is there, the
    next install exports it; ganesha reloads on SIGHUP, same process."""
    d = os.path.join(lab["storage"], "images", "master", "blades", "s01c1b04")
    pid = lab["ganesha"].pid
    os.rename(d, d + ".away")
    try:
        t0 = time.monotonic()
        p = install(dim, lab)
        note_timing(build_dir, "nfs install (ganesha, 4 exports, check + SIGHUP): %.2f s"
                    % (time.monotonic() - t0))
        assert p.returncode == 0, p.stderr
        assert "s01c1b04 (RW directory, image master): %s is not there (yet); not exported" % d \
            in p.stderr
        assert re.search(r"1 RO tree, 3 RW directories exported, 1 not there yet; checked by a "
                         r"throwaway ganesha.nfsd; reloaded: SIGHUP to ganesha.nfsd \(PID %d\)"
                         % pid, p.stdout), p.stdout
        time.sleep(0.5)
        p = check(dim, lab, "s01c1b04")
        assert p.returncode == 1
        assert "not exported to this host (not in its export list)" in p.stdout, p.stdout
    finally:
        os.rename(d + ".away", d)
    p = install(dim, lab)
    assert p.returncode == 0, p.stderr
    time.sleep(0.5)
    p = check(dim, lab, "s01c1b04")
    assert p.returncode == 0, p.stdout
    assert lab["ganesha"].poll() is None and lab["ganesha"].pid == pid
    # Nothing changed: nothing written, nobody signalled.
    p = install(dim, lab)
    assert p.returncode == 0 and "unchanged" in p.stdout, p.stdout


def test_broken_config_leaves_live_file(dim, lab):
    """--keep-missing exports a directory that is not there: ganesha's own check
    refuses the file, and the live one stays as it was, byte for byte."""
    d = os.path.join(lab["storage"], "images", "master", "blades", "s01c1b03")
    os.rename(d, d + ".away")
    try:
        p = install(dim, lab)       # the live file without s01c1b03
        assert p.returncode == 0, p.stderr
        before = sha(lab["live"])
        mtime = os.stat(lab["live"]).st_mtime_ns
        p = install(dim, lab, "--keep-missing")
    finally:
        os.rename(d + ".away", d)
    assert p.returncode == 1
    assert p.stderr.startswith("dim nfs: %s: not replaced: ganesha.nfsd refuses it: blade s01c1b03 "
                               "(RW directory, image master): Could not create export" % lab["live"]), p.stderr
    assert sha(lab["live"]) == before and os.stat(lab["live"]).st_mtime_ns == mtime
    assert [f for f in os.listdir(lab["state"]) if ".tmp-" in f] == []
    p = install(dim, lab)
    assert p.returncode == 0, p.stderr
    time.sleep(0.5)
    p = check(dim, lab, "s01c1b03")
    assert p.returncode == 0, p.stdout


def test_refused_values_leave_live_file(dim, lab, tmp_path):
    """A storage root with a ".." component: one message naming file, line and
    attribute (the loader's; nfs_plan() refuses it too, see test_nfs_gen.c);
    the live file untouched."""
    with open(lab["definition"]) as f:
        xml = f.read()
    bad = tmp_path / "bad.xml"
    bad.write_text(xml.replace('storage="%s"' % lab["storage"], 'storage="%s/../x"' % lab["storage"]))
    before = sha(lab["live"])
    p = dim("nfs", "install", "s01", "-c", str(bad), "--state", str(tmp_path / "none.db"),
            "--backend", "ganesha", "--file", lab["live"], "--no-reload")
    assert p.returncode == 1
    assert re.match(r"dim nfs: %s:\d+: .*storage.*\.\." % re.escape(str(bad)), p.stderr), p.stderr
    assert p.stderr.count("\n") == 1
    assert sha(lab["live"]) == before


# ---------------------------------------------------------------- kernel server

KERNEL_SCRIPT = r"""
set -u
mount -t tmpfs dim-test /etc/exports.d
mount -t tmpfs dim-test /var/lib/nfs
mv "$AWAY" "$AWAY.away"
"$DIM" nfs install s01 -c "$DEF" --state "$STATE" --backend kernel; echo "rc=$?"
echo ---etab
exportfs -v
echo ---file
sum=$(sha256sum /etc/exports.d/dim.exports)
"$DIM" nfs install s01 -c "$DEF" --state "$STATE" --backend kernel --keep-missing; echo "rc=$?"
mv "$AWAY.away" "$AWAY"
[ "$sum" = "$(sha256sum /etc/exports.d/dim.exports)" ] && echo same || echo changed
ls -a /etc/exports.d
"""


def test_kernel_exportfs(dim, lab, build_dir):
    """The kernel backend, applied for real by exportfs -ra in private mount and
    network namespaces (no nfsd here, and the host's export table is never touched):
    exportfs takes every line with the options dim asked for; a directory not
    there is left out, or with --keep-missing refused by exportfs, the live file
    staying as it was."""
    if not shutil.which("exportfs"):
        pytest.fail("no exportfs: tests/deps.sh check installs nfs-kernel-server")
    # The mount point of the test's private tmpfs; nfs-utils reads the
    # directory but no package creates it (dim nfs install would).
    os.makedirs("/etc/exports.d", exist_ok=True)
    away = os.path.join(lab["storage"], "images", "master", "blades", "s01c1b02")
    env = dict(os.environ, DIM=os.path.join(build_dir, "bin", "dim"), DEF=lab["definition"],
               STATE=os.path.join(lab["top"], "none.db"), AWAY=away)
    p = sh(["unshare", "-m", "-n", "--propagation", "private", "--", "/bin/sh", "-c",
            KERNEL_SCRIPT], env=env, check=False)
    out, err = p.stdout, p.stderr
    first, etab, rest = re.split(r"^---etab$|^---file$", out, flags=re.M)
    assert "rc=0" in first, out + err
    assert "1 RO tree, 3 RW directories exported, 1 not there yet; checked by exportfs -ra in " \
           "private namespaces; reloaded: exportfs -ra" in first, first
    assert "blade s01c1b02 (RW directory, image master): %s is not there (yet); not exported" \
        % away in err, err
    st = lab["storage"]
    # exportfs -v: one line per client, with what exportfs made of the options
    want = [
        ("%s/images/master/ro" % st, "10.77.0.0/24", "fsid=1024", "ro", "no_root_squash"),
        ("%s/images/master/ro" % st, MGMT, "fsid=1024", "ro", "no_root_squash"),
        ("%s/images/master/blades/s01c1b01" % st, "10.77.0.11", "fsid=1025", "rw", "no_root_squash"),
        ("%s/images/master/blades/s01c1b01" % st, MGMT, "fsid=1025", "ro", "root_squash"),
        ("%s/images/master/blades/s01c1b04" % st, "10.77.0.14", "fsid=1028", "rw", "no_root_squash"),
    ]
    flat = re.sub(r"\n\s+", " ", etab)
    for path, client, fsid, mode, squash in want:
        m = re.search(r"^%s\s+%s\(([^)]*)\)" % (re.escape(path), re.escape(client)), flat, re.M)
        assert m, "%s %s not in exportfs -v:\n%s" % (path, client, etab)
        opts = m.group(1).split(",")
        assert fsid in opts and mode in opts and squash in opts and "sec=sys" in opts \
            and "sync" in opts and "no_subtree_check" in opts, m.group(0)
    assert len(re.findall(r"^/", flat, re.M)) == 8     # 4 exports, 2 clients each
    assert "s01c1b02" not in etab
    assert "rc=1" in rest
    assert "not replaced: exportfs -ra refuses it: blade s01c1b02 (RW directory, image master): " \
           "exportfs: Failed to stat %s: No such file or directory" % away in err, err
    assert "same" in rest and ".tmp-" not in rest, out


# ---------------------------------------------------------------- many blades

def test_check_many_blades(dim, build_dir, tmp_path):
    """A generated definition, two image servers of 8 chassis x 14 blades (224
    blades; DIM_E2E_NFS_BLADES for more), each with its own ganesha and rpcbind:
    install both, check every blade from the management node, note the times
    (DIM_E2E_NFS_JOBS sets --jobs)."""
    n = int(os.environ.get("DIM_E2E_NFS_BLADES", "224"))
    xml = sh([os.path.join(REPO, "tests", "bench", "gen-cluster"), "--chassis", "8", "--bays", "14",
              "--no-macs", str(n)]).stdout
    storage = str(tmp_path / "storage")
    assert 'storage="/srv/dim"' in xml
    definition = str(tmp_path / "big.xml")
    with open(definition, "w") as f:
        f.write(xml.replace('storage="/srv/dim"', 'storage="%s"' % storage))
    common = ["-c", definition, "--state", str(tmp_path / "none.db")]
    listing = sh([os.path.join(build_dir, "bin", "dim"), "list", *common, "--json", "all"]).stdout
    blades = json.loads(listing)
    assert len(blades) == n
    servers = list(dict.fromkeys(b["server"] for b in blades))     # s1, s2 ... in order
    for image in ("debian12", "debian12-test"):
        make_ro(storage, image, linked=False)
    for b in blades:
        make_rw(storage, b["image"], b["name"], 1 << 30)

    l = Lab(str(tmp_path))
    l.tag = "dm%d" % (os.getpid() % 100000)
    try:
        mgmt = l.add_ns("mgmt")
        sh(["ip", "-n", mgmt, "addr", "add", "10.0.0.1/32", "dev", "lo"])
        t_install = 0.0
        for k, name in enumerate(servers):
            state = str(tmp_path / name)
            os.makedirs(state)
            srv = l.server_ns(name, "10.64.%d.1/24" % k)
            l.veth(mgmt, "%sm%d" % (l.tag, k), srv, "%ss%d" % (l.tag, k))
            sh(["ip", "-n", mgmt, "addr", "add", "10.254.%d.1/30" % k, "dev", "%sm%d" % (l.tag, k)])
            sh(["ip", "-n", srv, "addr", "add", "10.254.%d.2/30" % k, "dev", "%ss%d" % (l.tag, k)])
            sh(["ip", "-n", mgmt, "route", "add", "10.64.%d.0/24" % k, "via", "10.254.%d.2" % k,
                "src", "10.0.0.1"])
            sh(["ip", "-n", srv, "route", "add", "10.0.0.1/32", "via", "10.254.%d.1" % k])
            live = os.path.join(state, "dim-exports.conf")
            conf = ganesha_main_conf(dim, definition, name, live, state, str(tmp_path / "out"))
            t0 = time.monotonic()
            p = dim("nfs", "install", name, *common, "--backend", "ganesha", "--file", live,
                    "--no-reload", "--ganesha-conf", conf)
            t_install += time.monotonic() - t0
            assert p.returncode == 0, p.stderr
            rpcbind = l.rpcbind(srv, state)
            l.ganesha(srv, rpcbind, conf, state)
        t0 = time.monotonic()
        jobs = os.environ.get("DIM_E2E_NFS_JOBS")
        p = dim("nfs", "check", *common, *(["--jobs", jobs] if jobs else []), "all", ns=mgmt,
                timeout=600)
        took = time.monotonic() - t0
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr
        assert len(re.findall(r"^\S+ +ok +ro ", p.stdout, re.M)) == n
        summary = p.stdout.splitlines()[-1]
        assert summary.startswith("%d blades: %d ok, 0 failed" % (n, n)), summary
        note_timing(build_dir, "nfs install of %d servers (%d blades, ganesha check): %.2f s; "
                    "nfs check of %d blades: %.2f s (%s)" % (len(servers), n, t_install, n, took,
                                                             summary))
    finally:
        l.stop()

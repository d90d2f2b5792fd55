# SPDX-License-Identifier: MIT
"""dim tftp and dim buildzimage --publish against the real tftpd-hpa and rsync.

In a network namespace of the test's own (lo and a bridge holding
s01's address, 10.77.0.1/24; s02's network, 10.77.1.0/24, has no route):

- `dim tftp install s01` writes the tftpd-hpa defaults file into a temp file;
  in.tftpd is started from exactly what sh reads from it (as a service
  without systemd would);
- an rsync daemon on 10.77.0.1 serves s01's storage as module "dim" (the
  definition says sync="rsyncd");
- `dim buildzimage -k DEBIAN_KERNEL --ipxe --publish other` (the distribution
  kernel route, Debian's x86_64 kernel the other tests use, no kernel build)
  publishes to s01 and s02: s01 gets the files, s02 is unreachable and is
  named, exit 1;
- busybox tftp fetches IMAGE/KERNEL (the name dim dhcp gives) and the files
  the script names from the daemon, byte for byte; paths outside the TFTP
  root are refused;
- --local publishes on this host; publishing again leaves unchanged files
  alone (same inode) and replaces changed ones by rename.

Every process is stopped by its PID; the namespace is deleted.
Run:  make test-e2e PYTEST_ARGS="-k tftp"   (as root)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import helpers  # noqa: E402

SMALL = os.path.join(helpers.REPO, "config", "small.xml")
S01 = "10.77.0.1"


def need(cond, why):
    if not cond:
        pytest.exit("e2e tftp: " + why, returncode=3)


def sh(argv, check=True, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout,
                                                    p.stderr))
    return p


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


class Lab:
    """The namespace, its daemons (by PID), the storage roots and the definition."""

    def __init__(self, build_dir):
        self.dim = os.path.join(build_dir, "bin", "dim")
        self.top = tempfile.mkdtemp(prefix="dim-tftp-")
        os.chmod(self.top, 0o755)
        self.ns = "dimtftp-%d" % os.getpid()
        self.procs = []
        self.storage = {s: os.path.join(self.top, s) for s in ("s01", "s02")}
        for d in self.storage.values():
            os.makedirs(d)
        with open(SMALL) as f:
            xml = f.read()
        old = 'kernel="vmlinux" mode="overlay"'
        assert xml.count(old) == 1
        xml = xml.replace(old, 'kernel="boot.ipxe" mode="overlay"')
        # s02c1b03 boots "other"; give s01c1b02 "other" too, so both servers have one.
        xml = xml.replace('<boot image="other" nodes="s02c1b03"/>',
                          '<boot image="other" nodes="s02c1b03,s01c1b02"/>')
        old = '<address base="10.77.0.1" strides="server:0.0.1.0"/>'
        assert xml.count(old) == 1
        xml = xml.replace(old, old + '\n    <imageserver name="s01" storage="%s" sync="rsyncd"/>'
                          '\n    <imageserver name="s02" storage="%s" sync="rsyncd"/>'
                          % (self.storage["s01"], self.storage["s02"]))
        self.cluster = os.path.join(self.top, "cluster.xml")
        with open(self.cluster, "w") as f:
            f.write(xml)
        self.state = os.path.join(self.top, "state.db")

    def up(self):
        sh(["ip", "netns", "add", self.ns])
        sh(["ip", "-n", self.ns, "link", "set", "lo", "up"])
        sh(["ip", "-n", self.ns, "link", "add", "boot0", "type", "bridge"])
        sh(["ip", "-n", self.ns, "addr", "add", S01 + "/24", "dev", "boot0"])
        sh(["ip", "-n", self.ns, "link", "set", "boot0", "up"])

    def start(self, label, argv, port, log):
        out = open(os.path.join(self.top, log), "w")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns] + argv, stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append((label, p))
        for _ in range(100):
            if sh(["ip", "netns", "exec", self.ns, "ss", "-Hlun" if port == 69 else "-Hltn",
                   "sport = :%d" % port]).stdout.strip():
                return p
            if p.poll() is not None:
                break
            time.sleep(0.1)
        with open(os.path.join(self.top, log)) as f:
            raise AssertionError("%s did not start:\n%s" % (label, f.read()))

    def stop(self, label):
        for lbl, p in list(self.procs):
            if lbl != label:
                continue
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
            self.procs.remove((lbl, p))

    def down(self):
        for label, _ in list(self.procs):
            self.stop(label)
        subprocess.run(["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.top, ignore_errors=True)

    def dimc(self, *args, ns=True, check=True):
        argv = [self.dim] + list(args) + ["-c", self.cluster, "--state", self.state]
        if ns:
            argv = ["ip", "netns", "exec", self.ns] + argv
        env = dict(os.environ)
        env.pop("DIM_CLUSTER", None)
        env.pop("DIM_STATE", None)
        return sh(argv, check=check, env=env)

    def tftp_get(self, remote, local):
        if os.path.exists(local):
            os.unlink(local)
        return subprocess.run(["ip", "netns", "exec", self.ns, "busybox", "tftp", "-g", "-b",
                               "1468", "-r", remote, "-l", local, S01],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def lab(build_dir):
    for tool in ("in.tftpd", "rsync", "busybox", "ip", "ss"):
        need(shutil.which(tool) or os.path.exists("/usr/sbin/" + tool),
             "%s is missing: run tests/deps.sh check" % tool)
    k = helpers.fetch("kernel", "x86_64", os.path.join(build_dir, "cache"))
    t = Lab(build_dir)
    t.kernel = k["KERNEL"]
    try:
        t.up()
        yield t
    finally:
        t.down()


@pytest.fixture(scope="module")
def tftpd(lab):
    """dim tftp install s01 into a temp file, in.tftpd started from what sh reads there."""
    defaults = os.path.join(lab.top, "etc", "default", "tftpd-hpa")
    p = lab.dimc("tftp", "install", "s01", "-f", defaults)
    assert p.stdout == "s01: %s: TFTP root %s/tftp on %s:69 as tftp\n" % (
        defaults, lab.storage["s01"], S01), p.stdout
    assert "restart it" in p.stderr
    assert os.path.isdir(os.path.join(lab.storage["s01"], "tftp"))
    # What a service without systemd does with the file (the demo does the same).
    lab.start("tftpd", ["sh", "-c", '. "$1" && exec in.tftpd --foreground --listen '
                        '--user "$TFTP_USERNAME" --address "$TFTP_ADDRESS" $TFTP_OPTIONS '
                        '"$TFTP_DIRECTORY"', "sh", defaults], 69, "tftpd.log")
    # s01's rsync daemon: module "dim" is its storage root.
    conf = os.path.join(lab.top, "rsyncd.conf")
    with open(conf, "w") as f:
        f.write("use chroot = no\nuid = root\ngid = root\n[dim]\n\tpath = %s\n"
                "\tread only = no\n" % lab.storage["s01"])
    lab.start("rsyncd", ["rsync", "--daemon", "--no-detach", "--address=" + S01,
                         "--config=" + conf], 873, "rsyncd.log")
    return defaults


def test_tftp_show_is_what_install_wrote(lab, tftpd):
    p = lab.dimc("tftp", "show", "s01")
    with open(tftpd) as f:
        assert p.stdout == f.read()
    assert 'TFTP_DIRECTORY="%s/tftp"\n' % lab.storage["s01"] in p.stdout
    assert 'TFTP_ADDRESS="%s:69"\n' % S01 in p.stdout
    assert 'TFTP_OPTIONS="--secure --blocksize=1468"\n' in p.stdout


def test_tftp_refuses_bad_values_and_keeps_the_file(lab, tftpd):
    with open(tftpd, "rb") as f:
        before = f.read()
    for args, want in ((["--options", "--secure /etc"], "served as a directory"),
                       (["--options", '--secure"; reboot; "'], "a character"),
                       (["-u", "tf$tp"], "TFTP_USERNAME")):
        p = lab.dimc("tftp", "install", "s01", "-f", tftpd, *args, check=False)
        assert p.returncode == 1, p.stderr
        assert p.stderr.startswith("dim tftp: ") and want in p.stderr, p.stderr
        assert p.stderr.count("\n") == 1
    with open(tftpd, "rb") as f:
        assert f.read() == before
    p = lab.dimc("tftp", "install", "s09", "-f", tftpd, check=False)
    assert p.returncode == 1 and "s09: no image server" in p.stderr
    p = lab.dimc("tftp", "frobnicate", check=False)
    assert p.returncode == 2


def test_tftp_reload(lab, tftpd):
    """--reload runs after the write; a failing one is an error naming the server."""
    marker = os.path.join(lab.top, "reloaded")
    p = lab.dimc("tftp", "install", "s01", "-f", tftpd, "--reload", "touch " + marker)
    assert "unchanged" in p.stdout and "s01: reloaded: ran touch" in p.stdout
    assert os.path.exists(marker)
    p = lab.dimc("tftp", "install", "s01", "-f", tftpd, "--reload", "false", check=False)
    assert p.returncode == 1
    assert "s01: installed, but the reload failed: false exited with status 1" in p.stderr


@pytest.fixture(scope="module")
def published(lab, tftpd):
    """The distribution kernel route with --ipxe, published for image other to s01 and s02."""
    p = lab.dimc("buildzimage", "-k", lab.kernel, "--no-default-modules", "--ipxe",
                 "--append", "console=ttyS0 dimtest=tftp", "-q", "--publish", "other",
                 check=False)
    return p


def test_publish_names_the_unreachable_server(published):
    p = published
    assert p.returncode == 1, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    # -q: failures only
    assert len(lines) == 1 and lines[0].startswith("publish   s02 FAILED: "), p.stdout
    assert "10.77.1.1" in lines[0] or "unreachable" in lines[0], lines[0]
    assert p.stderr == "dim buildzimage: --publish other: 1 of 2 image servers failed: s02\n"


def test_publish_writes_the_names_dhcp_gives(lab, published):
    tree = os.path.join(lab.storage["s01"], "tftp", "other")
    assert sorted(os.listdir(tree)) == ["boot.ipxe", "initrd.img", "kernel"]
    for name in os.listdir(tree):
        assert os.stat(os.path.join(tree, name)).st_mode & 0o777 == 0o644
    with open(os.path.join(tree, "kernel"), "rb") as a, open(lab.kernel, "rb") as b:
        assert a.read() == b.read()
    with open(os.path.join(tree, "boot.ipxe")) as f:
        script = f.read()
    assert script.startswith("#!ipxe\n")
    assert ("kernel tftp://${next-server}/other/kernel console=ttyS0 dimtest=tftp\n"
            "initrd tftp://${next-server}/other/initrd.img\nboot\n") in script
    # The boot file dim dhcp gives s01c1b02 is that script.
    p = lab.dimc("dhcp", "show", "s01c1b02", ns=False)
    assert '\tfilename "other/boot.ipxe";\n' in p.stdout
    # s02 got nothing; no temporary file is left behind on s01.
    assert not os.path.exists(os.path.join(lab.storage["s02"], "tftp"))
    assert not [n for n in os.listdir(tree) if n.startswith(".")]


def test_fetch_over_tftp(lab, published):
    """in.tftpd, started from dim's file, serves what --publish put there, byte for byte."""
    tree = os.path.join(lab.storage["s01"], "tftp")
    got = os.path.join(lab.top, "got")
    for remote in ("other/boot.ipxe", "other/initrd.img", "other/kernel"):
        p = lab.tftp_get(remote, got)
        assert p.returncode == 0, p.stdout
        with open(got, "rb") as a, open(os.path.join(tree, remote), "rb") as b:
            assert a.read() == b.read(), remote
    # Nothing outside the TFTP root: --secure chroots the daemon into it.
    secret = os.path.join(lab.storage["s01"], "secret")
    with open(secret, "w") as f:
        f.write("not for blades\n")
    for outside in ("../secret", "/etc/passwd", secret, "other/../../secret"):
        p = lab.tftp_get(outside, got)
        assert p.returncode != 0, "TFTP served %s" % outside
        assert not os.path.exists(got) or os.path.getsize(got) == 0


def test_publish_local_and_again(lab, published):
    """--local on this host; again: unchanged files stay, a changed one is renamed in."""
    p = lab.dimc("buildzimage", "-k", lab.kernel, "--no-default-modules", "--ipxe",
                 "--append", "console=ttyS0 dimtest=tftp", "--publish", "other", "--local",
                 ns=False)
    lines = [l for l in p.stdout.splitlines() if l.startswith("publish ")]
    assert [l.split()[1:3] for l in lines] == [["s01", "ok:"], ["s02", "ok:"]], p.stdout
    assert "bootfile  other/boot.ipxe " in p.stdout
    trees = [os.path.join(lab.storage[s], "tftp", "other") for s in ("s01", "s02")]
    for tree in trees:
        assert sorted(os.listdir(tree)) == ["boot.ipxe", "initrd.img", "kernel"]
    inodes = {n: os.stat(os.path.join(trees[0], n)).st_ino for n in os.listdir(trees[0])}
    # Same kernel and initramfs, another command line: only the script changes.
    p = lab.dimc("buildzimage", "-k", lab.kernel, "--no-default-modules", "--ipxe",
                 "--append", "console=ttyS0 dimtest=again", "--publish", "other", "--local",
                 "--servers", "s01", ns=False)
    assert re.search(r"^publish   s01 ok: 3 files, 1 new ", p.stdout, re.M), p.stdout
    assert "s02" not in p.stdout
    now = {n: os.stat(os.path.join(trees[0], n)).st_ino for n in os.listdir(trees[0])}
    assert now["kernel"] == inodes["kernel"] and now["initrd.img"] == inodes["initrd.img"]
    assert now["boot.ipxe"] != inodes["boot.ipxe"]
    with open(os.path.join(trees[0], "boot.ipxe")) as f:
        assert "dimtest=again" in f.read()
    with open(os.path.join(trees[1], "boot.ipxe")) as f:
        assert "dimtest=tftp" in f.read()


def test_publish_refusals(lab, tftpd):
    """Wrong image, wrong route for the kernel attribute, an empty range: before any build."""
    out = os.path.join(lab.top, "out")
    for args, want in (
            (["--publish", "nope"], "--publish nope: no image of that name"),
            (["--publish", "master", "--ipxe"], "its kernel attribute must end in .ipxe"),
            (["--publish", "other"], "image other boots an iPXE script"),
            (["--publish", "other", "--ipxe", "--servers", "s01c1b01"],
             "no image server has a blade booting image other among s01c1b01")):
        p = lab.dimc("buildzimage", "-k", lab.kernel, "-o", out, *args, ns=False, check=False)
        assert p.returncode == 1, (args, p.stderr)
        assert p.stderr.startswith("dim buildzimage: ") and want in p.stderr, p.stderr
        assert not os.path.exists(out), "built although the publishing was refused"
    p = lab.dimc("buildzimage", "-k", lab.kernel, "--local", "-o", out, ns=False, check=False)
    assert p.returncode == 2

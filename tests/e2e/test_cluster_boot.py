# SPDX-License-Identifier: MIT
"""QEMU blades booted by the configuration dim itself writes (issue 3):
image server s01 of config/small.xml (storage in the test's own directory)
runs ISC dhcpd on what `dim dhcp install` wrote and nfs-ganesha on what
`dim nfs install` wrote (qemu/imageserver --dim), nothing else.

- s01c1b01 (MAC from small.xml) gets its name, address and image (master,
  bind mode) from dim's host entry, and mounts the exports dim wrote;
- s01c1b02, told on its command line to take s01c1b01's RW directory, is
  refused by ganesha, as dim's export restricts it to s01c1b01's address;
- after `dim dhcp assign other s01c1b01` and the image server's reinstall
  (dim dhcp install restarting dhcpd, dim nfs install sending ganesha
  SIGHUP) its next boot is image other, overlay mode.

The test master is built per image (tests/master/mkmaster --image), each tree
naming its image in /etc/dim-image and /usr/share/dim-master/image.
"""

import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

import helpers
from conftest import ARCH
from helpers import DIM_LINE

SMALL = os.path.join(helpers.REPO, "config", "small.xml")
SERVER = "10.77.0.1"
B1 = ("s01c1b01", "52:54:00:00:01:01", "10.77.0.11")
B2 = ("s01c1b02", "52:54:00:00:01:02", "10.77.0.12")
BOOT_TIMEOUT = 150
MARKER_RE = re.compile(r"^DIM-MARKER host=(\S+) addr=(\S+) mode=(\S+) root=(\S+)", re.M)
IMAGE_RE = re.compile(r"^DIM-IMAGE etc=(\S+) usr=(\S+)$", re.M)


class Cluster:
    """s01 of small.xml as dim configures it."""

    def __init__(self, build_dir, top):
        self.top = top
        self.dim = os.path.join(build_dir, "bin", "dim")
        self.storage = os.path.join(top, "s01")
        self.state = os.path.join(top, "server")
        self.db = os.path.join(top, "state.db")
        os.makedirs(self.storage)
        with open(SMALL) as f:
            xml = f.read()
        xml = xml.replace('<imageservers storage="/var/lib/dim"',
                          '<imageservers storage="%s"' % self.storage)
        assert self.storage in xml
        self.cluster = os.path.join(top, "cluster.xml")
        with open(self.cluster, "w") as f:
            f.write(xml)
        self.server = helpers.ImageServer(self.state, self.storage, None)

    def imageserver(self, *args):
        return helpers.run([os.path.join(helpers.QEMU_DIR, "imageserver")] + list(args))

    def up(self):
        self.imageserver("up", self.state, "--root", self.storage, "--dim", self.cluster,
                         "--server", "s01", "--dim-state", self.db, "--dim-bin", self.dim)

    def down(self):
        subprocess.run([os.path.join(helpers.QEMU_DIR, "imageserver"), "down", self.state],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def run_dim(self, *args):
        return helpers.run([self.dim] + list(args[:2]) + ["-c", self.cluster, "--state", self.db]
                           + list(args[2:]))

    def rw_dir(self, image, blade):
        return os.path.join(self.storage, "images", image, "blades", blade)

    def file(self, rel):
        with open(os.path.join(self.state, rel)) as f:
            return f.read()

    def dhcpd_pid(self):
        with open(os.path.join(self.state, "pids")) as f:
            return [l.split()[1] for l in f if l.startswith("dhcpd ")]


@pytest.fixture(scope="module")
def cluster(build_dir, blade_software):
    top = tempfile.mkdtemp(prefix="dim-cluster-boot-")
    c = Cluster(build_dir, top)
    mkmaster = os.path.join(helpers.REPO, "tests", "master", "mkmaster")
    helpers.run([mkmaster, "--busybox", blade_software["busybox"], "--root", c.storage,
                 "--image", "master", B1[0], B2[0]])
    helpers.run([mkmaster, "--busybox", blade_software["busybox"], "--root", c.storage,
                 "--image", "other", B1[0]])
    try:
        c.up()
        yield c
    finally:
        c.down()
        keep = os.path.join(build_dir, "e2e", "cluster-boot-server")
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(c.state, keep, ignore=shutil.ignore_patterns("run"), dirs_exist_ok=True)
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="module")
def runner(build_dir, zimage, cluster):
    r = helpers.BladeRunner(cluster.server, zimage["kernel"], zimage["initrd"],
                            os.path.join(build_dir, "e2e", "logs"), arch=ARCH)
    try:
        yield r
    finally:
        r.stop_all()


def boot_to_done(runner, blade, dimtest, log_name):
    name, mac, _ = blade
    return runner.boot(name, mac, append="quiet dimtest=" + dimtest, until=r"^DIM-DONE",
                       timeout=BOOT_TIMEOUT, wait_exit=True, log_name=log_name)


def reached(boot):
    assert boot.matched, "%s did not reach the master's init in %d s (log %s); console ends:\n%s" % (
        boot.name, BOOT_TIMEOUT, boot.log_path, boot.excerpt())
    assert "Kernel panic" not in boot.text


def marker(boot):
    m = MARKER_RE.search(boot.text)
    assert m, "no DIM-MARKER (log %s)" % boot.log_path
    return m.groups()


def image_of(boot):
    m = IMAGE_RE.search(boot.text)
    assert m, "no DIM-IMAGE line (log %s)" % boot.log_path
    return m.groups()


@pytest.fixture(scope="module")
def first_boots(runner, cluster):
    """s01c1b01 boots its image; beside it s01c1b02 asks for s01c1b01's RW directory."""
    steal = "%s:%s" % (SERVER, cluster.rw_dir("master", B1[0]))

    def b2():
        return runner.boot(B2[0], B2[1], append="quiet dim.rw=" + steal,
                           until=DIM_LINE + r" rw-mount: failed:", timeout=BOOT_TIMEOUT,
                           log_name="cluster-b2-takes-b1-rw")

    with ThreadPoolExecutor(max_workers=2) as pool:
        a = pool.submit(boot_to_done, runner, B1, "image", "cluster-b1-master")
        b = pool.submit(b2)
        return a.result(), b.result()


def test_daemons_serve_what_dim_wrote(cluster):
    """The running dhcpd and ganesha read dim's files and nothing else of ours."""
    assert 'include "%s/dim/dim-dhcpd.conf";' % cluster.state in cluster.file("dhcpd.conf")
    assert "host " not in cluster.file("dhcpd.conf")
    dhcp = cluster.file("dim/dim-dhcpd.conf")
    assert "dim dhcp" in dhcp.splitlines()[0]
    assert re.search(r"host %s \{[^}]*hardware ethernet %s;[^}]*fixed-address %s;" % B1, dhcp)
    conf = cluster.file("ganesha.conf")
    assert '%%include "%s/dim/dim-exports.conf"' % cluster.state in conf
    assert "EXPORT {" not in conf
    exports = cluster.file("dim/dim-exports.conf")
    assert "written by\n# dim nfs" in exports or "dim nfs" in exports.splitlines()[1]
    rw = cluster.rw_dir("master", B1[0])
    m = re.search(r'Path = "%s";(.*?)\n\}' % re.escape(rw), exports, re.S)
    assert m, "no export of %s in dim's file" % rw
    assert "Clients = %s; Access_Type = RW;" % B1[2] in m.group(1)
    assert B2[2] not in m.group(1)


def test_blade_gets_name_address_and_image_from_dim(first_boots, cluster):
    boot = first_boots[0]
    reached(boot)
    assert marker(boot) == (B1[0], B1[2], "bind", "ext4")
    assert image_of(boot) == ("master", "master")
    ro = os.path.join(cluster.storage, "images", "master", "ro")
    assert boot.lines(DIM_LINE + r" ro-mount: %s:%s on /run/dim/ro " % (SERVER, re.escape(ro))), \
        boot.lines("ro-mount")
    assert boot.lines(DIM_LINE + r" rw-mount: %s:%s on /run/dim/rw " % (
        SERVER, re.escape(cluster.rw_dir("master", B1[0])))), boot.lines("rw-mount")
    assert boot.returncode == 0, "did not power off cleanly"


def test_other_blade_cannot_mount_the_rw_export(first_boots, cluster):
    boot = first_boots[1]
    assert boot.matched, "s01c1b02 was not refused s01c1b01's RW directory (log %s):\n%s" % (
        boot.log_path, boot.excerpt())
    # it got its own lease from dim's configuration first
    assert boot.lines(DIM_LINE + r" dhcp: bound %s/" % re.escape(B2[2])), boot.lines("dhcp")
    failed = boot.lines(DIM_LINE + r" rw-mount: failed:")
    assert cluster.rw_dir("master", B1[0]) in failed[0], failed
    assert not boot.lines(r"^DIM-MARKER"), "s01c1b02 booted on s01c1b01's RW image"
    assert "Kernel panic" not in boot.text


@pytest.fixture(scope="module")
def assigned_boot(first_boots, runner, cluster):
    before = cluster.dhcpd_pid()
    p = cluster.run_dim("dhcp", "assign", "other", B1[0], "-o", os.path.join(cluster.top, "out"))
    assert "assigned other to 1 blade" in p, p
    # What the image server's admin runs: dim's files again, daemons told.
    out = cluster.imageserver("reload", cluster.state)
    assert cluster.dhcpd_pid() != before, "dhcpd was not restarted:\n" + out
    assert "images/other/blades/%s" % B1[0] in cluster.file("dim/dim-dhcpd.conf")
    assert 'Path = "%s";' % cluster.rw_dir("other", B1[0]) in cluster.file("dim/dim-exports.conf")
    return boot_to_done(runner, B1, "image", "cluster-b1-other")


def test_assign_boots_the_new_image(assigned_boot, cluster):
    boot = assigned_boot
    reached(boot)
    # small.xml: image other is overlay mode
    assert marker(boot) == (B1[0], B1[2], "overlay", "overlay")
    assert image_of(boot) == ("other", "other")
    ro = os.path.join(cluster.storage, "images", "other", "ro")
    assert boot.lines(DIM_LINE + r" ro-mount: %s:%s on " % (SERVER, re.escape(ro))), boot.lines("ro-mount")
    assert boot.lines(DIM_LINE + r" rw-mount: %s:%s on " % (
        SERVER, re.escape(cluster.rw_dir("other", B1[0])))), boot.lines("rw-mount")

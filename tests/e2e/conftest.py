# SPDX-License-Identifier: MIT
"""End-to-end fixtures: a real image server (dhcpd, nfs-ganesha, rpcbind in a
network namespace) and real PowerPC blades (QEMU pseries) booting Debian's
kernel with dim's initramfs.

Run as root:  O=<absolute build dir> /usr/bin/python3 -m pytest -q tests/e2e
(`make test-e2e` does that).  Console logs of every boot land in $O/e2e/logs.

DIM_E2E_INITRD=PATH boots that initramfs instead of one `dim buildzimage`
builds (for debugging the tests themselves).  DIM_E2E_ARCH=x86_64 boots PC
blades (Debian's amd64 kernel, x86_64 master) instead of PowerPC ones.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import helpers  # noqa: E402

ARCH = os.environ.get("DIM_E2E_ARCH", "ppc64le")
QEMU_BIN = {"ppc64le": "qemu-system-ppc64", "x86_64": "qemu-system-x86_64"}
SERVER = "10.77.0.1"

# name, MAC, fixed address, mode.  b3's root-path names an export that does
# not exist; UNKNOWN's MAC is in no host entry (no dynamic pool either).
BLADES = {
    "b1": ("52:54:00:77:00:01", "10.77.0.11", "bind"),
    "b2": ("52:54:00:77:00:02", "10.77.0.12", "overlay"),
    "b3": ("52:54:00:77:00:03", "10.77.0.13", "bind"),
}
UNKNOWN_MAC = "52:54:00:77:00:99"
B3_MISSING_RO = "/nonexistent/images/master/ro"


def _need(cond, why):
    if not cond:
        pytest.exit("e2e: " + why, returncode=3)


@pytest.fixture(scope="session")
def build_dir():
    o = os.environ.get("O")
    _need(o and os.path.isabs(o), "set O to the absolute build directory (make test-e2e does)")
    _need(os.geteuid() == 0, "the end-to-end tests need root (namespaces, taps, daemons)")
    _need(ARCH in QEMU_BIN, "DIM_E2E_ARCH must be ppc64le or x86_64")
    for tool in (QEMU_BIN[ARCH], "dhcpd", "ganesha.nfsd", "rpcbind", "mke2fs", "ip"):
        _need(shutil.which(tool) or os.path.exists("/usr/sbin/" + tool),
              "%s is missing: run tests/deps.sh check" % tool)
    return o


@pytest.fixture(scope="session")
def blade_software(build_dir):
    """Debian's ppc64el kernel + modules and static busybox, unpacked."""
    cache = os.path.join(build_dir, "cache")
    k = helpers.fetch("kernel", ARCH, cache)
    b = helpers.fetch("busybox", ARCH, cache)
    return {"kernel": k["KERNEL"], "modules": k["MODULES"], "version": k["VERSION"],
            "busybox": b["BUSYBOX"]}


@pytest.fixture(scope="session")
def zimage(build_dir, blade_software):
    """Kernel and initramfs from `dim buildzimage` (busybox for the rescue shell)."""
    override = os.environ.get("DIM_E2E_INITRD")
    if override:
        return {"kernel": blade_software["kernel"], "initrd": override}
    out = os.path.join(build_dir, "e2e", "zimage")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    dim = os.path.join(build_dir, "bin", "dim")
    p = subprocess.run([dim, "buildzimage", "-k", blade_software["kernel"],
                        "-m", blade_software["modules"], "-a", ARCH,
                        "-b", blade_software["busybox"], "-q", "-o", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        pytest.fail("dim buildzimage failed (%d):\n%s" % (p.returncode, p.stdout), pytrace=False)
    z = {"kernel": os.path.join(out, "kernel"), "initrd": os.path.join(out, "initrd.img")}
    for f in z.values():
        if not os.path.isfile(f):
            pytest.fail("dim buildzimage did not write %s" % f, pytrace=False)
    return z


@pytest.fixture(scope="session")
def image_server(build_dir, blade_software):
    """Image server storage with the test master, and the server itself up."""
    top = tempfile.mkdtemp(prefix="dim-e2e-")
    root = os.path.join(top, "root")
    state = os.path.join(top, "server")
    os.makedirs(root)
    helpers.run([os.path.join(helpers.REPO, "tests", "master", "mkmaster"),
                 "--busybox", blade_software["busybox"], "--root", root, "b1", "b2"])
    blades_file = os.path.join(top, "blades")
    with open(blades_file, "w") as f:
        for name, (mac, ip, mode) in sorted(BLADES.items()):
            extra = " ro=" + B3_MISSING_RO if name == "b3" else ""
            f.write("%s %s %s master %s%s\n" % (name, mac, ip, mode, extra))
    server = helpers.ImageServer(state, root, blades_file)
    try:
        server.up()
        yield server
    finally:
        server.down()
        keep = os.path.join(build_dir, "e2e", "server")
        shutil.rmtree(keep, ignore_errors=True)
        # The daemons' configs and logs are worth keeping; the storage is not.
        shutil.copytree(state, keep, ignore=shutil.ignore_patterns("run"), dirs_exist_ok=True)
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="session")
def blades(build_dir, zimage, image_server):
    """Boots blades; every QEMU it started is stopped at the end, whatever happens."""
    runner = helpers.BladeRunner(image_server, zimage["kernel"], zimage["initrd"],
                                 os.path.join(build_dir, "e2e", "logs"), arch=ARCH)
    try:
        yield runner
    finally:
        runner.stop_all()

# SPDX-License-Identifier: MIT
"""Real network boot through the blades' own firmware, no -kernel anywhere.

One image server (ISC dhcpd, nfs-ganesha, rpcbind, tftpd-hpa and dnsmasq's
IPv6 router advertisements, for iPXE, in a network namespace) with two images, the PowerPC test master and the x86_64 one, and a
TFTP tree beside them (ROOT/tftp, boot files under ROOT/tftp/IMAGE/):

  p1, p2  QEMU pseries with SLOF: DHCP, TFTP of the zImage.of that
          `dim buildzimage --zimage` built from kernel-config/ (every driver
          built in, the initramfs linked in), then the NFS root.  p2 has a
          virtio-net NIC (the driver Kconfig drops silently without NET_CORE)
          and boots in overlay mode.
  x1      QEMU q35 with SeaBIOS and the NIC's iPXE ROM: DHCP names an iPXE
          script that fetches Debian's kernel and dim's initramfs (with its
          modules) by TFTP: the distribution kernel through PXE.
  x2      the same firmware booting the x86_64 bzImage built from
          kernel-config/, named by DHCP directly.

The kernels are built in $O/kernel (kept: the first run takes minutes, later
ones seconds).  Also: the fragments' check (a symbol Kconfig drops is an
error naming fragment and line), the rebuild after changing only the
initramfs, and that TFTP serves the tree and nothing outside it.

Run:  make test-e2e PYTEST_ARGS="-k netboot"   (as root)
"""

import glob
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

SERVER = "10.77.0.1"
KERNEL_SOURCES = "/usr/src/linux-source-*.tar.xz"

# name: (MAC, address, image, mode, boot file in the TFTP tree)
BLADES = {
    "p1": ("52:54:00:78:00:01", "10.77.0.41", "master", "bind", "master/zImage.of"),
    "p2": ("52:54:00:78:00:02", "10.77.0.42", "master", "overlay", "master/zImage.of"),
    "x1": ("52:54:00:78:00:11", "10.77.0.51", "master-x86", "bind", "master-x86/boot.ipxe"),
    "x2": ("52:54:00:78:00:12", "10.77.0.52", "master-x86", "overlay", "master-x86/bzImage"),
}


def _need(cond, why):
    if not cond:
        pytest.exit("e2e netboot: " + why, returncode=3)


@pytest.fixture(scope="module")
def nb(build_dir):
    """Tools and paths; every program the tests start must be here."""
    for tool in ("qemu-system-ppc64", "qemu-system-x86_64", "in.tftpd", "dhcpd", "ganesha.nfsd",
                 "rpcbind", "tar", "make", "flex", "bison", "bc", "powerpc64le-linux-gnu-gcc",
                 "busybox"):
        _need(shutil.which(tool) or os.path.exists("/usr/sbin/" + tool),
              "%s is missing: run tests/deps.sh check" % tool)
    sources = glob.glob(KERNEL_SOURCES)
    _need(len(sources) == 1, "want one %s (apt-get install linux-source-6.1)" % KERNEL_SOURCES)
    _need(glob.glob("/usr/lib/ipxe/qemu/*.rom"), "QEMU's iPXE ROMs are missing (ipxe-qemu)")
    return {"O": build_dir, "dim": os.path.join(build_dir, "bin", "dim"),
            "kbuild": os.path.join(build_dir, "kernel"), "source": sources[0],
            "kconfig": os.path.join(helpers.REPO, "kernel-config"),
            "cache": os.path.join(build_dir, "cache")}


def dim(*args, check=True):
    p = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        pytest.fail("%s exited with %d:\n%s\n%s" % (" ".join(args), p.returncode, p.stdout,
                                                     p.stderr[-6000:]), pytrace=False)
    return p


def zimage(nb, arch, outdir, *extra):
    """dim buildzimage --zimage into outdir (the kept build tree in $O/kernel)."""
    return dim(nb["dim"], "buildzimage", "--zimage", "-a", arch, "--kernel-source", nb["source"],
               "--kernel-config", nb["kconfig"], "--kernel-build", nb["kbuild"],
               "-o", outdir, *extra)


def summary(p):
    """dim buildzimage's summary lines as {field: text}."""
    out = {}
    for line in p.stdout.splitlines():
        k, _, v = line.partition(" ")
        out[k] = v.strip()
    return out


@pytest.fixture(scope="module")
def storage(nb):
    """The image server's storage: both masters, their blades' RW images, the TFTP tree."""
    top = tempfile.mkdtemp(prefix="dim-netboot-")
    root = os.path.join(top, "root")
    os.makedirs(os.path.join(root, "tftp"))
    sw = {}
    for arch, image, names in (("ppc64le", "master", ["p1", "p2"]),
                               ("x86_64", "master-x86", ["x1", "x2"])):
        k = helpers.fetch("kernel", arch, nb["cache"])
        b = helpers.fetch("busybox", arch, nb["cache"])
        sw[arch] = {"kernel": k["KERNEL"], "modules": k["MODULES"], "busybox": b["BUSYBOX"]}
        helpers.run([os.path.join(helpers.REPO, "tests", "master", "mkmaster"),
                     "--busybox", b["BUSYBOX"], "--root", root, "--image", image] + names)
    try:
        yield {"top": top, "root": root, "tftp": os.path.join(root, "tftp"), "sw": sw}
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="module")
def boot_files(nb, storage):
    """What the firmware fetches, published into the TFTP tree by dim buildzimage -o."""
    tftp = storage["tftp"]
    ppc = zimage(nb, "ppc64le", os.path.join(tftp, "master"))
    x86 = zimage(nb, "x86_64", os.path.join(tftp, "master-x86"))
    sw = storage["sw"]["x86_64"]
    dist = dim(nb["dim"], "buildzimage", "-k", sw["kernel"], "-m", sw["modules"], "--ipxe",
               "--append", "console=ttyS0 dimtest=rotest", "-o",
               os.path.join(tftp, "master-x86"))
    return {"ppc": summary(ppc), "x86": summary(x86), "dist": summary(dist)}


@pytest.fixture(scope="module")
def server(build_dir, storage, boot_files):
    blades_file = os.path.join(storage["top"], "blades")
    with open(blades_file, "w") as f:
        for name, (mac, ip, image, mode, boot) in sorted(BLADES.items()):
            f.write("%s %s %s %s %s file=%s\n" % (name, mac, ip, image, mode, boot))
    state = os.path.join(storage["top"], "server")
    srv = helpers.ImageServer(state, storage["root"], blades_file, tftp=True, ra=True)
    try:
        srv.up()
        yield srv
    finally:
        srv.down()
        keep = os.path.join(build_dir, "e2e", "netboot-server")
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(state, keep, ignore=shutil.ignore_patterns("run"), dirs_exist_ok=True)


# DIM_E2E_KVM=1 runs the x86_64 blades with KVM.  Off by default: on the
# nested hypervisor these tests were written on, KVM stops in iPXE already
# ("KVM internal error", default CPU model) or aborts (-cpu host).
X86_EXTRA = ("--kvm",) if os.environ.get("DIM_E2E_KVM") == "1" else ()


@pytest.fixture(scope="module")
def runners(build_dir, server):
    logs = os.path.join(build_dir, "e2e", "netboot-logs")
    r = {arch: helpers.BladeRunner(server, None, None, logs, arch=arch)
         for arch in ("ppc64le", "x86_64")}
    try:
        yield r
    finally:
        for runner in r.values():
            runner.stop_all()


def marker(boot, name):
    mac, ip, image, mode, _ = BLADES[name]
    want = "DIM-MARKER host=%s addr=%s mode=%s root=%s" % (
        name, ip, mode, "ext4" if mode == "bind" else "overlay")
    assert boot.matched, "%s: no marker\n%s" % (name, boot.excerpt(60))
    assert boot.lines(r"^DIM-MARKER") == [want]


def test_built_images(boot_files, storage):
    """The zImage.of and bzImage are in the TFTP tree, with the fragments all in effect."""
    for key, name in (("ppc", "zImage.of"), ("x86", "bzImage")):
        s = boot_files[key]
        assert s["modules"] == "none: the kernel has its drivers built in"
        assert re.match(r".*/(common|ppc64le|x86_64)\.config: \d+ settings, all in ", s["config"])
        assert s["image"].startswith(os.path.join(storage["tftp"]))
        assert ("/" + name + " ") in s["image"]
    # zImage.of is the Open Firmware wrapper SLOF loads: a little-endian
    # 64-bit ELF executable for PowerPC (e_machine EM_PPC64 = 21), not the
    # plain zImage linked at 0 that SLOF refuses.
    with open(os.path.join(storage["tftp"], "master", "zImage.of"), "rb") as f:
        head = f.read(64)
    assert head[:6] == b"\x7fELF\x02\x01" and head[16:20] == b"\x02\x00\x15\x00"
    with open(os.path.join(storage["tftp"], "master-x86", "bzImage"), "rb") as f:
        assert f.read(0x206)[0x202:0x206] == b"HdrS"
    with open(os.path.join(storage["tftp"], "master-x86", "boot.ipxe")) as f:
        script = f.read()
    assert script.startswith("#!ipxe\n")
    assert "kernel kernel console=ttyS0 dimtest=rotest\ninitrd initrd.img\nboot\n" in script


def test_host_entries(server):
    """Each blade's host entry names its boot file and this server, and tells
    iPXE there is no ProxyDHCP server to wait for (about 3 s otherwise)."""
    conf = server.log("dhcpd.conf")
    for name, (mac, ip, image, mode, boot) in BLADES.items():
        m = re.search(r"\nhost %s \{\n(.*?)\n\}" % name, conf, re.S)
        assert m, "no host entry for %s" % name
        entry = m.group(1)
        assert "\tnext-server %s;" % SERVER in entry
        assert '\tfilename "%s";' % boot in entry
        assert "\toption ipxe.no-pxedhcp 1;" in entry


def test_ppc64le_slof_netboot(runners):
    """SLOF: DHCP, TFTP of the zImage.of, the built-in drivers, the NFS root.
    The command line SLOF passes (its boot-file variable) reaches the master."""
    b = runners["ppc64le"].boot("p1", BLADES["p1"][0], append="dimtest=rotest",
                                until=r"^DIM-DONE", timeout=180)
    marker(b, "p1")
    assert b.lines(r"Welcome to Open Firmware"), "SLOF did not run"
    assert b.lines(r'Requesting file "master/zImage.of" via TFTP from %s' % SERVER)
    assert b.lines(r"TFTP: Received master/zImage.of \(\d+ KBytes\)")
    assert b.lines(r"dim\[.*\] modules: no /etc/dim/modules: the kernel has its drivers built in")
    assert b.lines(r"dim\[.*\] dhcp: bound 10\.77\.0\.41/255\.255\.255\.0 from 10\.77\.0\.1")
    assert not b.lines(r"debian-kernel@"), "Debian's kernel booted, not the zImage"
    assert b.lines(r"^DIM-ROTEST usr=fail: .* ro=fail: ")


def test_ppc64le_virtio_overlay(runners):
    """virtio-net built in (Kconfig drops it silently without NET_CORE), overlay root."""
    b = runners["ppc64le"].boot("p2", BLADES["p2"][0], until=r"^DIM-DONE", timeout=180,
                                extra=("--nic", "virtio"))
    marker(b, "p2")
    assert b.lines(r'TFTP: Received master/zImage.of')
    assert b.lines(r"dim\[.*\] root: overlay")


def test_x86_64_pxe_distribution_kernel(runners, boot_files):
    """iPXE: DHCP names boot.ipxe, which fetches Debian's kernel and dim's initramfs."""
    b = runners["x86_64"].boot("x1", BLADES["x1"][0], until=r"^DIM-DONE", timeout=300,
                               extra=X86_EXTRA)
    marker(b, "x1")
    assert b.lines(r"iPXE .* -- Open Source Network Boot Firmware"), "no iPXE ROM ran"
    assert b.lines(r"Filename: master-x86/boot\.ipxe")
    # The router advertisement reached iPXE (without one it waits ~16 s).
    assert b.lines(r"net0: fd77::[0-9a-f:]+/64")
    assert b.lines(r"boot\.ipxe : \d+ bytes \[script\]")
    assert b.lines(r"debian-kernel@"), "not Debian's kernel"
    assert b.lines(r"dim\[.*\] modules: [1-9]\d* loaded"), "the distribution kernel loads modules"
    assert not b.lines(r"drivers built in")
    # The command line came from the script.
    assert b.lines(r"^DIM-ROTEST usr=fail: .* ro=fail: ")


def test_x86_64_pxe_zimage(runners):
    """iPXE boots the bzImage built from kernel-config/ (its command line built in)."""
    b = runners["x86_64"].boot("x2", BLADES["x2"][0], until=r"^DIM-DONE", timeout=300,
                               extra=X86_EXTRA)
    marker(b, "x2")
    assert b.lines(r"tftp://10\.77\.0\.1/master-x86/bzImage\.\.\. ok")
    assert b.lines(r"dim\[.*\] modules: no /etc/dim/modules: the kernel has its drivers built in")
    assert not b.lines(r"debian-kernel@")
    assert b.lines(r"dim\[.*\] root: overlay")


def test_tftp_serves_the_tree_only(server, storage):
    """The daemon serves ROOT/tftp and nothing beside it (it is chrooted there)."""
    out = os.path.join(storage["top"], "fetched")

    def get(remote):
        if os.path.exists(out):
            os.unlink(out)
        return subprocess.run([os.path.join(helpers.QEMU_DIR, "imageserver"), "exec",
                               server.state, "busybox", "tftp", "-g", "-r", remote, "-l", out,
                               SERVER], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)

    p = get("master/zImage.of")
    assert p.returncode == 0, p.stdout
    with open(out, "rb") as a, open(os.path.join(storage["tftp"], "master", "zImage.of"),
                                    "rb") as b:
        assert a.read() == b.read()
    for outside in ("../images/master/blades/p1/rw.img", "/etc/passwd", "../blades"):
        p = get(outside)
        assert p.returncode != 0, "TFTP served %s" % outside


def test_rebuild_after_initramfs_change(nb, boot_files, tmp_path):
    """Only the initramfs changed: the kernel is relinked in seconds, not rebuilt."""
    motd = tmp_path / "motd"
    motd.write_text("netboot %d\n" % time.time())
    out = str(tmp_path / "out")
    t0 = time.monotonic()
    s = summary(zimage(nb, "ppc64le", out, "-f", "%s:/etc/motd" % motd))
    changed = time.monotonic() - t0
    assert s["initramfs"].endswith(", new)")
    assert changed < 120, "a rebuild after an initramfs change took %.0f s" % changed
    image = os.path.join(out, "zImage.of")
    with open(image, "rb") as f:
        new = f.read()
    with open(os.path.join(nb["kbuild"], "ppc64le", "arch/powerpc/boot/zImage.of"), "rb") as f:
        assert f.read() == new
    # Nothing changed: nothing to relink, the same image.
    t0 = time.monotonic()
    s = summary(zimage(nb, "ppc64le", out, "-f", "%s:/etc/motd" % motd))
    again = time.monotonic() - t0
    assert s["initramfs"].endswith(", unchanged)")
    with open(image, "rb") as f:
        assert f.read() == new
    print("rebuild after an initramfs change %.1f s, with nothing changed %.1f s" %
          (changed, again))


def test_fragment_errors(nb, tmp_path):
    """A setting Kconfig drops is an error naming fragment, line and symbol; =m is refused."""
    conf = tmp_path / "kernel-config"
    shutil.copytree(nb["kconfig"], str(conf))
    common = conf / "common.config"
    lines = common.read_text().splitlines()
    # Without NET_CORE, Kconfig silently leaves VIRTIO_NET out.
    lines = [l for l in lines if l != "CONFIG_NET_CORE=y"]
    common.write_text("\n".join(lines) + "\n")
    virtio_line = lines.index("CONFIG_VIRTIO_NET=y") + 1
    src = os.path.join(nb["kbuild"], "src", os.path.basename(nb["source"])[:-len(".tar.xz")])
    assert os.path.isfile(os.path.join(src, "Makefile")), "the kept source tree is missing"
    out = tmp_path / "out"
    p = dim(nb["dim"], "buildzimage", "--zimage", "-a", "ppc64le", "--kernel-source", src,
            "--kernel-config", str(conf), "--kernel-build", str(tmp_path / "kb"), "-q",
            "-o", str(out), check=False)
    assert p.returncode == 1, p.stderr
    err = p.stderr.splitlines()
    assert err[0].startswith("dim buildzimage: ") and "did not take effect in" in err[0], err
    # VIRTIO_NET sits inside "if NET_CORE": the .config does not even list it.
    assert err[1:] == ["  %s:%d: CONFIG_VIRTIO_NET=y, but the .config does not have it (its menu "
                       "or a dependency is off, or this kernel has no such symbol)"
                       % (common, virtio_line)], err
    assert not out.exists()

    common.write_text("CONFIG_NET=y\nCONFIG_EXT4_FS=m\n")
    p = dim(nb["dim"], "buildzimage", "--zimage", "-a", "ppc64le", "--kernel-source", src,
            "--kernel-config", str(conf), "--kernel-build", str(tmp_path / "kb"), "-o",
            str(out), check=False)
    assert p.returncode == 1
    assert p.stderr == ("dim buildzimage: %s:2: CONFIG_EXT4_FS=m: a netboot kernel has no "
                        "modules; build it in (=y)\n" % common)
    assert not out.exists()


def test_failed_kernel_build_shows_its_log(nb, tmp_path):
    """A kernel build that fails: one error naming the log, then the log's end; no image."""
    src = tmp_path / "linux-broken"
    src.mkdir()
    (src / "Kconfig").write_text("")
    (src / "Makefile").write_text(
        "allnoconfig:\n\tcp $(KCONFIG_ALLCONFIG) $(O)/.config\n"
        "zImage:\n\t@echo 'init/main.c:1: error: broken on purpose' >&2; exit 1\n")
    out = tmp_path / "out"
    p = dim(nb["dim"], "buildzimage", "--zimage", "-a", "ppc64le", "--kernel-source", str(src),
            "--kernel-config", nb["kconfig"], "--kernel-build", str(tmp_path / "kb"),
            "-o", str(out), check=False)
    assert p.returncode == 1
    log = tmp_path / "kb" / "ppc64le" / "dim-build.log"
    err = p.stderr.splitlines()
    assert "dim buildzimage: make zImage: make exited with status 2; the end of %s says why" \
        % log in err
    tail = err[err.index("---- the end of %s:" % log):]
    assert "init/main.c:1: error: broken on purpose" in tail
    assert not out.exists()

# SPDX-License-Identifier: MIT
"""dim buildzimage on Debian's real kernel packages (ppc64el, amd64), checked
with the standard tools: cpio(1) lists and extracts the archive, modprobe(8)
on a depmod'ed staging copy of the module tree says which modules each
default module needs.  No QEMU, no root needed once the packages are in
$O/cache (qemu/fetch downloads them the first time).

Run:  O=<absolute build dir> /usr/bin/python3 -m pytest -q tests/e2e/test_buildzimage.py
"""

import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import helpers  # noqa: E402

EPOCH = "1700000000"


@pytest.fixture(scope="module")
def bz_build():
    o = os.environ.get("O")
    if not (o and os.path.isabs(o)):
        pytest.fail("set O to the absolute build directory (make test-e2e does)")
    dim = os.path.join(o, "bin", "dim")
    if not os.access(dim, os.X_OK):
        pytest.fail("%s is not built (make all)" % dim)
    for tool in ("cpio", "depmod", "modprobe", "modinfo"):
        if not (shutil.which(tool) or os.path.exists("/usr/sbin/" + tool) or
                os.path.exists("/sbin/" + tool)):
            pytest.fail("%s is missing: run tests/deps.sh check" % tool)
    return {"O": o, "dim": dim, "cache": os.path.join(o, "cache")}


def _software(bz_build, arch):
    k = helpers.fetch("kernel", arch, bz_build["cache"])
    return {"kernel": k["KERNEL"], "modules": k["MODULES"], "version": k["VERSION"]}


@pytest.fixture(scope="module")
def ppc(bz_build):
    sw = _software(bz_build, "ppc64le")
    sw["busybox"] = helpers.fetch("busybox", "ppc64le", bz_build["cache"])["BUSYBOX"]
    return sw


@pytest.fixture(scope="module")
def amd64(bz_build):
    return _software(bz_build, "x86_64")


def _tool(name):
    for d in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return name


def buildzimage(bz_build, *args, env=None):
    e = dict(os.environ)
    e.pop("SOURCE_DATE_EPOCH", None)
    e.update(env or {})
    return subprocess.run([bz_build["dim"], "buildzimage"] + list(args), env=e,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def cpio_listing(initrd):
    """`cpio -itv` of the gzip'd archive: {name: listing line}."""
    raw = gzip.decompress(open(initrd, "rb").read())
    p = subprocess.run(["cpio", "-itv", "--quiet"], input=raw, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=True)
    out = {}
    for line in p.stdout.decode().splitlines():
        name = line.split()[-1]
        if " -> " in line:
            name = line.split()[-3]
        out["/" + name.lstrip("/")] = line
    return out


def cpio_file(initrd, name):
    raw = gzip.decompress(open(initrd, "rb").read())
    p = subprocess.run(["cpio", "-i", "--quiet", "--to-stdout", name.lstrip("/")], input=raw,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return p.stdout


def module_list(initrd):
    return cpio_file(initrd, "/etc/dim/modules").decode().split()


def norm(name):
    return name.replace("-", "_")


def modinfo_field(path, field):
    p = subprocess.run([_tool("modinfo"), "-F", field, path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, check=True)
    return p.stdout


def modprobe_sets(cache, moddir, version, names):
    """What modprobe --show-depends loads for each name, on a depmod'ed copy of the tree."""
    stage = tempfile.mkdtemp(prefix=".depmod-", dir=cache)   # hard links work within it
    try:
        dst = os.path.join(stage, "lib", "modules", version)
        os.makedirs(os.path.dirname(dst))
        # Hard links: depmod only adds files next to the modules.
        if subprocess.run(["cp", "-al", moddir, dst]).returncode != 0:
            shutil.rmtree(dst, ignore_errors=True)
            subprocess.run(["cp", "-a", moddir, dst], check=True)
        subprocess.run([_tool("depmod"), "-b", stage, version], check=True)
        sets = {}
        for n in names:
            p = subprocess.run([_tool("modprobe"), "-d", stage, "-S", version, "--show-depends",
                                n], stdout=subprocess.PIPE, text=True, check=True)
            sets[n] = {os.path.basename(line.split()[1]) for line in p.stdout.splitlines()
                       if line.startswith("insmod ")}
        return sets
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def check_order(moddir, order):
    """Every module after its depends= and its softdep pre: modules."""
    paths = {}
    for root, _dirs, files in os.walk(moddir):
        for f in files:
            if f.endswith(".ko"):
                paths[norm(f[:-3])] = os.path.join(root, f)
    pos = {norm(f[:-3]): i for i, f in enumerate(order)}
    for f in order:
        m = norm(f[:-3])
        deps = [d for d in modinfo_field(paths[m], "depends").strip().split(",") if d]
        for d in deps:
            assert pos[norm(d)] < pos[m], "%s loads before its dependency %s" % (m, d)
        for soft in modinfo_field(paths[m], "softdep").splitlines():
            words = soft.split()
            if "pre:" not in words:
                continue
            pre = words[words.index("pre:") + 1:]
            pre = pre[:pre.index("post:")] if "post:" in pre else pre
            for name in pre:
                providers = [k for k in pos if k == norm(name)] or \
                    [k for k in pos if norm(name) in
                     [norm(a) for a in modinfo_field(paths[k], "alias").split()]]
                assert providers, "softdep %s of %s is not in the initramfs" % (name, m)
                for k in providers:
                    assert pos[k] < pos[m], "%s loads before its softdep %s" % (m, k)


def test_ppc64le_default_set(bz_build, ppc, tmp_path):
    out = str(tmp_path / "boot")
    p = buildzimage(bz_build, "-k", ppc["kernel"], "-m", ppc["modules"], "-o", out)
    assert p.returncode == 0, p.stderr
    assert "arch      ppc64le" in p.stdout
    kernel, initrd = os.path.join(out, "kernel"), os.path.join(out, "initrd.img")
    assert sorted(os.listdir(out)) == ["initrd.img", "kernel"]
    assert open(kernel, "rb").read() == open(ppc["kernel"], "rb").read()

    listing = cpio_listing(initrd)
    assert listing["/init"].startswith("-rwxr-xr-x")
    assert listing["/dev/console"].startswith("crw-------")
    assert " 5,   1 " in listing["/dev/console"]
    for d in ("/dev", "/proc", "/sys", "/run", "/tmp", "/etc/dim", "/lib/modules", "/bin"):
        assert listing[d].startswith("d"), d
    linuxrc = os.path.join(bz_build["O"], "ppc64le", "linuxrc")
    assert cpio_file(initrd, "/init") == open(linuxrc, "rb").read()

    order = module_list(initrd)
    assert len(order) == len(set(order))
    for f in order:
        assert "/lib/modules/" + f in listing
    names = [norm(f[:-3]) for f in order]
    # ext4's softdep "pre: crypto-crc32c" is an alias: both crc32c modules, before ext4.
    assert names.index("crc32c_generic") < names.index("ext4")
    assert names.index("crc32c_vpmsum") < names.index("ext4")
    check_order(ppc["modules"], order)

    want = ["ext4", "nfsv4", "nfsv3", "ibmveth", "virtio_net", "virtio_pci", "loop", "overlay"]
    for name, mods in modprobe_sets(bz_build["cache"], ppc["modules"], ppc["version"], want).items():
        missing = mods - set(order)
        assert not missing, "modprobe loads %s for %s, dim does not" % (missing, name)


def test_extract(bz_build, ppc, tmp_path):
    out = str(tmp_path / "boot")
    p = buildzimage(bz_build, "-q", "-a", "ppc64le", "-m", ppc["modules"], "-b", ppc["busybox"],
                    "-o", out)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    assert os.listdir(out) == ["initrd.img"]
    x = tmp_path / "x"
    x.mkdir()
    raw = gzip.decompress(open(os.path.join(out, "initrd.img"), "rb").read())
    # Without root cpio cannot make /dev/console; it says so and extracts the rest.
    subprocess.run(["cpio", "-id", "--quiet", "--no-absolute-filenames"], input=raw, cwd=str(x),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert os.readlink(str(x / "bin" / "sh")) == "busybox"
    assert open(str(x / "bin" / "busybox"), "rb").read() == open(ppc["busybox"], "rb").read()
    for f in open(str(x / "etc" / "dim" / "modules")).read().split():
        assert (x / "lib" / "modules" / f).stat().st_size > 0
    assert oct((x / "tmp").stat().st_mode & 0o7777) == "0o1777"


def test_deterministic(bz_build, ppc, tmp_path):
    imgs = []
    for i in range(2):
        out = str(tmp_path / ("o%d" % i))
        p = buildzimage(bz_build, "-q", "-a", "ppc64le", "-m", ppc["modules"], "-o", out,
                        env={"SOURCE_DATE_EPOCH": EPOCH})
        assert p.returncode == 0, p.stderr
        imgs.append(open(os.path.join(out, "initrd.img"), "rb").read())
    assert imgs[0] == imgs[1]
    assert struct.unpack("<I", imgs[0][4:8])[0] == int(EPOCH)   # gzip MTIME (RFC 1952)
    raw = gzip.decompress(imgs[0])
    assert raw[:6] == b"070701"
    assert int(raw[6 + 5 * 8:6 + 6 * 8], 16) == int(EPOCH)   # c_mtime of the first entry


def test_errors(bz_build, ppc, tmp_path):
    out = str(tmp_path / "o")
    p = buildzimage(bz_build, "-k", ppc["kernel"], "-m", ppc["modules"], "-M", "no_such_module",
                    "-o", out)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        "dim buildzimage: module no_such_module not found in %s" % ppc["modules"]]
    assert not os.path.exists(out) or os.listdir(out) == []

    p = buildzimage(bz_build, "-k", ppc["kernel"], "-a", "x86_64", "-o", out)
    assert p.returncode == 1 and "a kernel for ppc64le, but -a says x86_64" in p.stderr

    for bad in (["-o"], ["-k", ppc["kernel"]], ["-a", "sparc", "-o", out], ["-o", out, "extra"],
                ["-a", "ppc64le", "-M", "ext4", "-o", out], ["-a", "ppc64le", "-f", "x", "-o", out]):
        p = buildzimage(bz_build, *bad)
        assert p.returncode == 2, bad

    # A module whose .modinfo section header points past the end of the file.
    tree = tmp_path / "tree"
    shutil.copytree(ppc["modules"] + "/kernel/fs/ext4", str(tree / "kernel" / "fs" / "ext4"))
    ko = tree / "kernel" / "fs" / "ext4" / "ext4.ko"
    data = bytearray(ko.read_bytes())
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", data, 0x3c)
    stroff, = struct.unpack_from("<Q", data, shoff + shstrndx * 64 + 0x18)
    for i in range(shnum):
        h = shoff + i * 64
        name, = struct.unpack_from("<I", data, h)
        if data[stroff + name:stroff + name + 9] == b".modinfo\0":
            struct.pack_into("<Q", data, h + 0x20, len(data))   # sh_size
    ko.write_bytes(bytes(data))
    p = buildzimage(bz_build, "-a", "ppc64le", "-m", str(tree), "-M", "ext4", "-o", out)
    assert p.returncode == 1
    assert p.stderr.strip() == \
        "dim buildzimage: %s: .modinfo section runs past end of file" % ko
    assert not os.path.exists(out) or os.listdir(out) == []


def test_x86_64_bzimage(bz_build, amd64, tmp_path):
    out = str(tmp_path / "boot")
    p = buildzimage(bz_build, "-k", amd64["kernel"], "-m", amd64["modules"], "-o", out)
    assert p.returncode == 0, p.stderr
    assert "arch      x86_64" in p.stdout   # from the bzImage header, no -a
    assert "default module ibmveth is not in" in p.stderr
    order = module_list(os.path.join(out, "initrd.img"))
    names = [norm(f[:-3]) for f in order]
    assert names.index("crc32c_intel") < names.index("ext4")
    assert "e1000" in names and "e1000e" in names
    check_order(amd64["modules"], order)
    want = ["ext4", "nfsv4", "nfsv3", "e1000", "e1000e", "virtio_net"]
    for name, mods in modprobe_sets(bz_build["cache"], amd64["modules"],
                                          amd64["version"], want).items():
        missing = mods - set(order)
        assert not missing, "modprobe loads %s for %s, dim does not" % (missing, name)

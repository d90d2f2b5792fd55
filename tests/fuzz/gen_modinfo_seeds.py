#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz_modinfo: tiny ELF files with a .modinfo
section, in both classes and byte orders (the layout of
tests/unit/elf_module.h).  Run from anywhere; rewrites the seeds in place."""

import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_modinfo")


def elf(is64, be, machine, modinfo, secname=b".modinfo", extended=False):
    e = ">" if be else "<"
    ehsize, shentsize = (64, 64) if is64 else (52, 40)
    shstr = b"\0" + secname + b"\0.shstrtab\0"
    shoff = ehsize
    shstr_off = shoff + 3 * shentsize
    mi_off = shstr_off + len(shstr)
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 2 if be else 1, 1]) + bytes(9)
    shnum, shstrndx = (0, 0xFFFF) if extended else (3, 2)
    if is64:
        hdr = ident + struct.pack(e + "HHIQQQIHHHHHH", 1, machine, 1, 0, 0, shoff, 0,
                                  ehsize, 0, 0, shentsize, shnum, shstrndx)
    else:
        hdr = ident + struct.pack(e + "HHIIIIIHHHHHH", 1, machine, 1, 0, 0, shoff, 0,
                                  ehsize, 0, 0, shentsize, shnum, shstrndx)

    def sh(name, typ, off, size, link=0):
        if is64:
            return struct.pack(e + "IIQQQQIIQQ", name, typ, 0, 0, off, size, link, 0, 1, 0)
        return struct.pack(e + "IIIIIIIIII", name, typ, 0, 0, off, size, link, 0, 1, 0)

    sh0 = sh(0, 0, 0, 3 if extended else 0, 2 if extended else 0)
    shs = sh0 + sh(1, 1, mi_off, len(modinfo)) + sh(2 + len(secname), 3, shstr_off, len(shstr))
    return hdr + shs + shstr + modinfo


TYPICAL = (b"license=GPL\0name=ext4\0depends=jbd2,mbcache,crc16\0"
           b"softdep=pre: crypto-crc32c\0alias=fs-ext4\0alias=ext3\0"
           b"vermagic=6.1.0-50-amd64 SMP preempt mod_unload modversions \0")

SEEDS = {
    "le64_x86_64": elf(True, False, 62, TYPICAL),
    "le64_ppc64le": elf(True, False, 21, b"depends=\0softdep=pre: a b post: c\0\0\0name=x\0"),
    "be64_ppc64": elf(True, True, 21, b"alias=pci:v00001234d*sv*sd*bc*sc*i*\0depends=a-b\0"),
    "le32_i386": elf(False, False, 3, b"softdep=platform: p pre: q\0name=y\0"),
    "be32_ppc": elf(False, True, 20, b"depends=z\0"),
    "extended_numbering": elf(True, False, 62, b"depends=e\0", extended=True),
    "no_modinfo": elf(True, False, 62, b"depends=a\0", secname=b".notinfo"),
    "no_nul_at_end": elf(True, False, 62, b"depends=a\0alias=b"),
}

os.makedirs(HERE, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)

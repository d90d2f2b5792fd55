#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz_dhcp: DHCP replies a blade may see.

Each seed is written twice, as a whole IPv4/UDP packet (what the packet
socket returns) and as the bare BOOTP message, because the fuzz target feeds
its input to both ipudp_parse() and dhcp_parse().  Deterministic: run it
again and the files do not change.

    tests/fuzz/gen_corpus_dhcp.py [DIR]    (default tests/fuzz/corpus/fuzz_dhcp)
"""
import os
import socket
import struct
import sys

MAC = bytes.fromhex("525400123456")
XID = 0x1234ABCD
SERVER = "10.0.0.1"


def ip(a):
    return socket.inet_aton(a)


def opt(code, data):
    if isinstance(data, str):
        data = data.encode()
    return bytes([code, len(data)]) + data


def bootreply(options, yiaddr="10.0.0.5", sname=b"", file=b"", xid=XID, pad=True):
    hdr = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, xid, 0, 0x8000,
                      ip("0.0.0.0"), ip(yiaddr), ip(SERVER), ip("0.0.0.0"),
                      MAC, sname, file)
    msg = hdr + bytes([99, 130, 83, 99]) + options
    return msg + bytes(max(0, 300 - len(msg))) if pad else msg


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ipudp(payload, src=SERVER, dst="255.255.255.255", sport=67, dport=68):
    ulen = 8 + len(payload)
    pseudo = ip(src) + ip(dst) + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = 0xFFFF - csum(pseudo + udp)
    udp = udp[:6] + struct.pack("!H", c or 0xFFFF) + udp[8:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0, 64, 17, 0, ip(src), ip(dst))
    iph = iph[:10] + struct.pack("!H", 0xFFFF - csum(iph)) + iph[12:]
    return iph + udp


def seeds():
    common = (opt(54, ip(SERVER)) + opt(51, struct.pack("!I", 3600)) +
              opt(1, ip("255.255.255.0")) + opt(3, ip("10.0.0.254")))
    yield "offer", bootreply(opt(53, b"\x02") + common + b"\xff",
                             sname=b"boot-server", file=b"zImage.of")
    yield "ack-dim", bootreply(
        opt(53, b"\x05") + common +
        opt(6, ip("10.0.0.2") + ip("10.0.0.3")) +
        opt(12, "s01c1b07") + opt(15, "cluster.example") +
        opt(17, "10.0.0.1:/var/lib/dim/sles/ro") + opt(28, ip("10.0.0.255")) +
        opt(58, struct.pack("!I", 1800)) + opt(59, struct.pack("!I", 3150)) +
        opt(66, "10.0.0.1") + opt(67, "pxelinux.0") +
        opt(224, "10.0.0.1:/var/lib/dim/sles/s01c1b07") + opt(225, "overlay") +
        opt(226, ip("10.0.0.7") + ip("10.0.0.8")) + opt(227, "rw.img") +
        opt(228, "4.1") + opt(229, "bin,sbin,lib,usr") + opt(240, b"\x00\x01\xff") +
        b"\xff")
    yield "nak", bootreply(opt(53, b"\x06") + opt(54, ip(SERVER)) +
                           opt(56, "requested address not available") + b"\xff",
                           yiaddr="0.0.0.0")
    # option overload 3: options continue in file, then sname (RFC 2131 section 4.1)
    file = opt(12, "node1") + opt(17, "/ro/") + b"\xff"
    sname = opt(15, "example") + opt(17, "sles") + b"\xff"
    yield "ack-overload", bootreply(opt(53, b"\x05") + opt(52, b"\x03") + common +
                                    opt(17, "srv:") + b"\xff",
                                    sname=sname, file=file)
    # RFC 3396: a long option split in two, and no end option
    yield "ack-concat-noend", bootreply(opt(53, b"\x05") + common + opt(224, "10.0.0.1:/var/") +
                                        opt(224, "lib/dim/b1") + opt(17, "/ro"), pad=False)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_dhcp")
    os.makedirs(out, exist_ok=True)
    for name, msg in seeds():
        with open(os.path.join(out, name + ".ip"), "wb") as f:
            f.write(ipudp(msg))
        with open(os.path.join(out, name + ".bootp"), "wb") as f:
            f.write(msg)


if __name__ == "__main__":
    main()

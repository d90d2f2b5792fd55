# SPDX-License-Identifier: MIT
"""dim list from the command line: the table and JSON of the shipped
definitions, node ranges, and one clear message (exit 1) for a bad range or
definition, exit 2 for a usage error.  No daemons, no root: the definition
alone (the state file given does not exist, which readers accept)."""

import json
import os
import subprocess
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SMALL = os.path.join(REPO, "config", "small.xml")
MARENOSTRUM = os.path.join(REPO, "config", "marenostrum.xml")
GEN = os.path.join(REPO, "tests", "bench", "gen-cluster")


@pytest.fixture(scope="module")
def dim():
    o = os.environ.get("O")
    path = os.path.join(o, "bin", "dim") if o else ""
    if not os.access(path, os.X_OK):
        pytest.fail("dim is not built (make all; O=<build dir>)")
    return path


@pytest.fixture()
def run(dim, tmp_path):
    def run(*args, cluster=SMALL, env=None):
        argv = [dim, "list"]
        if cluster:
            argv += ["-c", cluster]
        argv += ["--state", str(tmp_path / "no-state.db")] + list(args)
        e = dict(os.environ)
        e.pop("DIM_CLUSTER", None)
        e.update(env or {})
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60, env=e)
    return run


def ok(p):
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    return p.stdout


def failed(p, status=1):
    """One message line 'dim list: ...' and nothing on stdout."""
    assert p.returncode == status, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == ""
    assert p.stderr.startswith("dim list: ")
    return p.stderr


def test_table(run):
    lines = ok(run()).splitlines()
    assert lines[0].split() == ["NAME", "LINEAR", "ADDRESS", "MAC", "SERVER", "IMAGE"]
    assert [line.split() for line in lines[1:]] == [
        ["s01c1b01", "b1", "10.77.0.11", "52:54:00:00:01:01", "s01", "master"],
        ["s01c1b02", "b2", "10.77.0.12", "52:54:00:00:01:02", "s01", "master"],
        ["s01c1b03", "b3", "10.77.0.13", "52:54:00:00:01:03", "s01", "master"],
        ["s01c1b04", "b4", "10.77.0.14", "52:54:00:00:01:04", "s01", "master"],
        ["s02c1b01", "b5", "10.77.1.11", "52:54:00:00:02:01", "s02", "master"],
        ["s02c1b02", "b6", "10.77.1.12", "52:54:00:00:02:02", "s02", "master"],
        ["s02c1b03", "b7", "10.77.1.13", "-", "s02", "other"],
    ]
    # Columns line up: every field starts where its heading does.
    starts = [lines[0].index(h) for h in ("LINEAR", "ADDRESS", "MAC", "SERVER", "IMAGE")]
    for line in lines[1:]:
        for s in starts:
            assert line[s - 2:s] == "  " and line[s] != " "


def test_json(run):
    rows = json.loads(ok(run("--json", "b1,s02c1b03")))
    assert rows == [
        {"name": "s01c1b01", "linear": "b1", "address": "10.77.0.11",
         "mac": "52:54:00:00:01:01", "server": "s01", "image": "master"},
        {"name": "s02c1b03", "linear": "b7", "address": "10.77.1.13",
         "mac": None, "server": "s02", "image": "other"},
    ]


def test_chassis(run):
    lines = ok(run("--chassis")).splitlines()
    assert [line.split() for line in lines] == [
        ["NAME", "LINEAR", "MM", "MM-ADDRESS", "SERVER"],
        ["s01c1", "mm1", "s01c1mm", "10.78.0.10", "s01"],
        ["s02c1", "mm2", "s02c1mm", "10.78.1.10", "s02"],
    ]
    assert json.loads(ok(run("--chassis", "-j", "s02c1mm"))) == [
        {"name": "s02c1", "linear": "mm2", "mm": "s02c1mm", "mm_address": "10.78.1.10",
         "server": "s02"}]


@pytest.mark.parametrize("rng,names", [
    ("s01c1b02-s01c1b04", ["b2", "b3", "b4"]),
    ("b3-b6", ["b3", "b4", "b5", "b6"]),
    ("s[01-02]c1b[01,03]", ["b1", "b3", "b5", "b7"]),
    ("b[1,3,5-7]", ["b1", "b3", "b5", "b6", "b7"]),
    ("s02", ["b5", "b6", "b7"]),          # the empty bay b8 is never listed
    ("mm1", ["b1", "b2", "b3", "b4"]),
    ("s1c1b2,s2c1b1", ["b2", "b5"]),      # padding optional
    ("all", ["b1", "b2", "b3", "b4", "b5", "b6", "b7"]),
])
def test_ranges(run, rng, names):
    rows = json.loads(ok(run("--json", rng)))
    assert [r["linear"] for r in rows] == names


@pytest.mark.parametrize("rng,message", [
    ("b99", '"b99": no blade b99 (b1..b8)'),
    ("s02c1b04", '"s02c1b04": selects only empty bays (absent)'),
    ("s[01-03]", '"s[01-03]": no server s03 (s01..s02)'),
    ("b6-b2", '"b6-b2": runs backwards'),
    ("x1", '"x1": not a node name'),
    ("b1,,b2", 'empty item in node range "b1,,b2"'),
    ("b[1-", "'[' without ']'"),
])
def test_bad_range(run, rng, message):
    err = failed(run(rng))
    assert message in err
    assert err.count("\n") == 1


def test_bad_chassis_range(run):
    assert '"b1": names blades, not chassis' in failed(run("--chassis", "b1"))


def test_usage(run):
    p = run("--help")
    assert p.returncode == 0 and p.stdout.startswith("usage: dim list")
    assert "--json" in p.stdout and "--cluster" in p.stdout
    assert "one RANGE at most" in failed(run("b1", "b2"), 2)
    assert "unknown option --bogus" in failed(run("--bogus"), 2)
    assert "unknown option -x" in failed(run("-x"), 2)


def test_environment(run):
    """Without -c, $DIM_CLUSTER names the definition."""
    rows = json.loads(ok(run("--json", "b1", cluster=None, env={"DIM_CLUSTER": SMALL})))
    assert rows[0]["name"] == "s01c1b01"
    err = failed(run(cluster=None, env={"DIM_CLUSTER": "/nonexistent/cluster.xml"}))
    assert "/nonexistent/cluster.xml: No such file" in err


@pytest.mark.parametrize("old,new,message", [
    ('address="52:54:00:00:02:02"', 'address="52:54:00:00:01:03"',
     "bad.xml:50: blade s02c1b02: MAC 52:54:00:00:01:03 already used by s01c1b03"),
    ('chassis:14 blade:1"', 'chassis:14 blade:100"',
     "bad.xml:27: address rule of blades: s01c1b04 gets 10.77.1.55, outside s01's boot network"),
    ('<boot image="other"', '<boot image="none"', 'bad.xml:42: boot: no <image name="none">'),
    ('rw-size="64M"', 'rw-size="64Q"', 'bad.xml:32: element image: attribute rw-size: "64Q"'),
    ('storage="/var/lib/dim"', 'storage="/var/lib/dim;reboot"', "bad.xml:17: element imageservers"),
    ('<?xml version="1.0" encoding="UTF-8"?>',
     '<?xml version="1.0"?>\n<!DOCTYPE cluster [ <!ENTITY x SYSTEM "file:///etc/passwd"> ]>',
     "bad.xml:2: a DOCTYPE is not allowed"),
])
def test_bad_definition(run, tmp_path, old, new, message):
    text = open(SMALL).read()
    assert old in text
    bad = tmp_path / "bad.xml"
    bad.write_text(text.replace(old, new, 1))
    err = failed(run(cluster=str(bad)))
    assert message in err, err
    assert err.count("\n") == 1
    assert "root:" not in err


def test_marenostrum(run):
    lines = ok(run(cluster=MARENOSTRUM)).splitlines()
    assert len(lines) == 1 + 2352
    assert lines[1].split()[:3] == ["s01c1b01", "b1", "10.1.1.11"]
    assert lines[28].split()[:2] == ["s01c2b14", "b28"]
    assert lines[-1].split()[:3] == ["s42c4b14", "b2352", "10.1.42.66"]
    rows = json.loads(ok(run("--chassis", "--json", "mm90", cluster=MARENOSTRUM)))
    assert rows == [{"name": "s23c2", "linear": "mm90", "mm": "s23c2mm",
                     "mm_address": "10.0.23.12", "server": "s23"}]


def test_ten_thousand_blades(run, tmp_path):
    """A generated 10,000-blade definition loads and lists quickly."""
    xml = tmp_path / "bench.xml"
    subprocess.run(["/usr/bin/python3", GEN, "10000", "-o", str(xml)], check=True, timeout=60)
    t0 = time.monotonic()
    out = ok(run("--json", cluster=str(xml)))
    elapsed = time.monotonic() - t0
    rows = json.loads(out)
    assert len(rows) == 10000
    assert rows[-1]["linear"] == "b10000" and rows[-1]["name"] == "s179c3b04"
    assert len({r["address"] for r in rows}) == 10000
    assert len({r["mac"] for r in rows}) == 10000
    # The bar for all of dhcp + nfs is a second; loading and listing alone is far below.
    assert elapsed < 1.0, elapsed

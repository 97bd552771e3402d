#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`clact tune` and the tuning results it saves, each step in a fresh process with its own cache
folder (CLACT_CACHE_DIR in a temporary directory):
 - bad --seconds values and unknown arguments: exit 2, one 'clact: ' line naming the problem;
 - an untuned device: a context reports CLBlast's own parameters (so does `clact devices`), and
   the dense layer (784->256 and 256->10, batch 128, forward and backward) matches the CPU
   reference (tune_driver);
 - `clact tune --seconds 15 --keep` (keep what it found even if not faster, so that the test does
   not depend on the machine's load): exit 0, a table, one entry written (mode 0600) in the cache
   folder and named in the output; a new context, made either way (clact_context_create and over
   a queue of the caller's), reports the tuned parameters (so does `clact devices`), CLACT_VERBOSE
   says where they came from, and the dense layer still matches the reference;
 - the entry truncated, with a flipped payload byte, or rewritten with a valid checksum around
   parameters this CLBlast does not have (and a malformed line): each is ignored (CLBlast's own
   parameters, one rejection counted, CLACT_VERBOSE names the file) and the dense layer matches;
 - a valid entry with other (hand-written) parameters is applied;
 - CLACT_CACHE=0: tuning runs and writes nothing.
Usage: tune_test.py path/to/clact path/to/tune_driver"""
import json
import os
import re
import stat
import struct
import subprocess
import sys
import tempfile

CLACT, DRIVER = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def run(cmd, env, timeout=600):
    e = dict(os.environ)
    e.update(env)
    return subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=timeout)


def driver(name, env, *args):
    r = run([DRIVER, *args], env)
    check(name, r.returncode == 0, f"exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r


def entries(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith(".tune")) if os.path.isdir(
        folder) else []


# The container disk_cache.c writes: "CLACTBIN", u32 format, u32 key length, u64 payload length,
# u64 FNV-1a 64 of key and payload, key, payload.
def fnv1a(data):
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def read_entry(path):
    raw = open(path, "rb").read()
    magic, fmt, klen, plen, _ = struct.unpack("<8sIIQQ", raw[:32])
    assert magic == b"CLACTBIN" and len(raw) == 32 + klen + plen
    return fmt, raw[32:32 + klen], raw[32 + klen:]


def write_entry(path, fmt, key, payload):
    head = struct.pack("<8sIIQQ", b"CLACTBIN", fmt, len(key), len(payload), fnv1a(key + payload))
    with open(path, "wb") as f:
        f.write(head + key + payload)


def devices_say(name, env, what):
    """`clact devices --json` reports the default device's f32 GEMM parameters as `what`."""
    r = run([CLACT, "devices", "--json"], env)
    try:
        dev = [d for d in json.loads(r.stdout)["devices"] if d["default"]][0]
        check(name, dev["clblast_gemm"] == what, r.stdout)
    except (ValueError, KeyError, IndexError) as e:
        check(name, False, f"{e}: {r.stdout!r}")


for bad in ["0", "-1", "0.5", "abc", "nan", "inf", "1e9", "", "10s"]:
    r = run([CLACT, "tune", "--seconds", bad], {})
    lines = r.stderr.strip().splitlines()
    check(f"--seconds {bad!r}", r.returncode == 2 and len(lines) == 1 and
          lines[0].startswith("clact: ") and "--seconds" in lines[0],
          f"exit {r.returncode}, stderr {r.stderr!r}")
for args in (["--seconds"], ["--frobnicate"], ["--device"]):
    r = run([CLACT, "tune", *args], {})
    check(f"tune {args}", r.returncode == 2 and r.stderr.startswith("clact: "),
          f"exit {r.returncode}, stderr {r.stderr!r}")

with tempfile.TemporaryDirectory() as tmp:
    cache = os.path.join(tmp, "cache")
    env = {"CLACT_CACHE_DIR": cache}
    # Untuned: also builds CLBlast's program with its own parameters, so that tuning's first
    # timing is not a cold build.
    driver("untuned device", env, "untuned")
    devices_say("devices before tuning", env, "own")

    r = run([CLACT, "tune", "--seconds", "15", "--keep"], env)
    check("tune --keep exit", r.returncode == 0, f"exit {r.returncode}\n{r.stdout}{r.stderr}")
    print(r.stdout)
    check("tune table", "784->256 forward" in r.stdout and "before" in r.stdout, r.stdout)
    written = entries(cache)
    check("tune wrote one entry", len(written) == 1, f"{written}\n{r.stdout}")
    if len(written) == 1:
        path = os.path.join(cache, written[0])
        check("entry named in the output", f"saved to {path}" in r.stdout, r.stdout)
        check("entry mode 0600", stat.S_IMODE(os.stat(path).st_mode) == 0o600,
              oct(os.stat(path).st_mode))
        fmt, key, payload = read_entry(path)
        text = payload.decode()
        check("payload", text.startswith("clact tune 1\nf32 "), text)

        v = driver("tuned context", dict(env, CLACT_VERBOSE="1"), "tuned")
        check("verbose names the entry", re.search(r"clact: verbose: CLBlast GEMM parameters "
                                                   r"\(f32\) from clact tune: " + re.escape(path),
                                                   v.stderr) is not None, v.stderr)
        driver("tuned context over a queue", env, "tuned", "queue")
        devices_say("devices after tuning", env, "tuned")

        original = open(path, "rb").read()
        damaged = {
            "truncated entry": original[:len(original) // 2],
            "flipped payload byte": original[:-3] + bytes([original[-3] ^ 0x20]) + original[-2:],
        }
        for name, data in damaged.items():
            open(path, "wb").write(data)
            v = driver(name, dict(env, CLACT_VERBOSE="1"), "untuned", "rejected")
            check(name + ": verbose", f"ignored tuning results {path}" in v.stderr, v.stderr)
        # Valid containers (right key and checksum) around payloads the reader must refuse.
        for name, bad in [("unknown parameter", "clact tune 1\nf32 Xgemm FROBNICATE=1\n"),
                          ("unknown kernel", "clact tune 1\nf32 Xfoo A=1\n"),
                          ("malformed line", "clact tune 1\nf32 GemmRoutine "
                                             "XGEMM_MIN_INDIRECT_SIZE=-5\n"),
                          ("missing header", "f32 GemmRoutine XGEMM_MIN_INDIRECT_SIZE=64\n")]:
            write_entry(path, fmt, key, bad.encode())
            driver(name, env, "untuned", "rejected")
        write_entry(path, fmt, key, b"clact tune 1\nf32 GemmRoutine XGEMM_MIN_INDIRECT_SIZE=64\n")
        driver("hand-written entry", env, "tuned")
        os.remove(path)
        driver("entry removed", env, "untuned")

    off = os.path.join(tmp, "off")
    r = run([CLACT, "tune", "--seconds", "3", "--keep"], {"CLACT_CACHE": "0",
                                                         "CLACT_CACHE_DIR": off})
    check("CLACT_CACHE=0 exit", r.returncode == 0, f"exit {r.returncode}\n{r.stdout}{r.stderr}")
    check("CLACT_CACHE=0 says so", "not saved: the disk cache is off" in r.stdout, r.stdout)
    check("CLACT_CACHE=0 writes nothing", not os.path.exists(off), str(os.listdir(tmp)))

print(f"tune_test: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

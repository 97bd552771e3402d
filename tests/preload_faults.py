#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`clact devices` with each OpenCL listing and property query failed in turn, through the
fault-injection shim preloaded (CLACT_FAULT=function:nth:error): every point ends either in the
full table (the nth call was never made) or in exit status 1, nothing on stdout, and one line on
stderr naming the failed call and its CL error's name. Before the fix, a failed query printed a
blank row with exit 0, and "no OpenCL devices" went to stdout.

Then (with API_TOUR) the README's C example with each enqueue and device query failed in turn.
Then the CLI's ops (every op family and dtype, the split softmax, the disk cache cold and warm)
with each of the shim's calls failed in turn.

  preload_faults.py CLACT_CLI FAULT_SHIM_SO [API_TOUR]"""
import os
import subprocess
import sys

cli, shim = sys.argv[1], sys.argv[2]
# In the sanitizer build (memcheck.sh) ASan's runtime must be loaded before the shim.
for line in subprocess.run(["ldd", cli], capture_output=True, text=True).stdout.splitlines():
    if "libasan" in line and "=>" in line:
        shim = line.split("=>")[1].split()[0] + " " + shim
        break
base = subprocess.run([cli, "devices"], capture_output=True, text=True)
assert base.returncode == 0, base.stderr
failures = 0
points = 0
for fn in ["clGetPlatformIDs", "clGetDeviceIDs", "clGetPlatformInfo", "clGetDeviceInfo"]:
    for nth in range(1, 400):
        env = dict(os.environ, LD_PRELOAD=shim, CLACT_FAULT=f"{fn}:{nth}:-33")  # CL_INVALID_DEVICE
        r = subprocess.run([cli, "devices"], capture_output=True, text=True, env=env, timeout=60)
        if r.returncode == 0:
            # CLBlast's own device queries, made while it takes the saved GEMM tuning, count as a
            # rejected tuning file in the library (never a failure): the column says "own!".
            rejected = base.stdout.replace(" tuned  ", "  own!  ")
            if r.stdout != base.stdout and not (fn == "clGetDeviceInfo" and r.stdout == rejected):
                print(f"FAIL {fn} #{nth}: exit 0 but the table differs:\n{r.stdout}\nexpected\n{base.stdout}")
                failures += 1
            break  # past the last call of fn
        points += 1
        lines = r.stderr.strip().splitlines()
        ok = (r.returncode == 1 and r.stdout == "" and len(lines) == 1 and fn in lines[0]
              and "CL_INVALID_DEVICE" in lines[0])
        if not ok:
            print(f"FAIL {fn} #{nth}: exit {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}")
            failures += 1
    else:
        print(f"FAIL {fn}: still failing after 400 calls")
        failures += 1
# The C API tour (what users copy): its upload, launch and download failed in turn; it must
# exit 1 with a message, not crash on an unset event or print unread values.
if len(sys.argv) > 3:
    tour = sys.argv[3]
    for fn in ["clEnqueueWriteBuffer", "clEnqueueNDRangeKernel", "clEnqueueReadBuffer",
               "clGetDeviceInfo"]:
        for nth in range(1, 60):
            env = dict(os.environ, LD_PRELOAD=shim, CLACT_FAULT=f"{fn}:{nth}:-5")  # OUT_OF_RESOURCES
            r = subprocess.run([tour], capture_output=True, text=True, env=env, timeout=120)
            if r.returncode == 0 and "reference" in r.stdout:
                break
            points += 1
            if r.returncode != 1 or not r.stderr.strip() or "gelu(" in r.stdout:
                print(f"FAIL api_tour with {fn} #{nth} failed: exit {r.returncode}, "
                      f"stdout {r.stdout!r}, stderr {r.stderr!r}")
                failures += 1
# The CLI's ops: each OpenCL call of the shim's kinds failed in turn, in a fresh directory. Every
# point ends in success with the same output as without faults, or in exit status 1 with one
# line on stderr naming the failed call and its CL error, and no output or temporary file left.
import shutil
import tempfile

import numpy as np

work = tempfile.mkdtemp(prefix="clact-faults-")
caches = tempfile.mkdtemp(prefix="clact-faults-cache-")
x = np.linspace(-3, 3, 3000, dtype=np.float32).reshape(3, 1000)
np.save(os.path.join(work, "x.npy"), x)
np.save(os.path.join(work, "dy.npy"), np.cos(x))
np.save(os.path.join(work, "row.npy"), np.linspace(-30, 30, 20000, dtype=np.float32).reshape(1, -1))
# (environment, arguments): the op families in every dtype, the split softmax path (two
# launches, the first one's statistics in scratch), and the disk cache cold (a fresh folder at
# every point: the program built and stored) and warm (loaded from a stored binary).
warm = os.path.join(caches, "warm")
scenarios = [
    ({}, ["apply", "gelu", "x.npy", "out.npy"]),
    ({}, ["apply", "relu", "--dtype", "f16", "x.npy", "out.npy"]),
    ({}, ["apply", "silu", "--dtype", "bf16", "x.npy", "out.npy"]),
    ({}, ["apply", "tanh", "--dtype", "f64", "x.npy", "out.npy"]),
    ({}, ["apply", "softmax", "dim=-1", "x.npy", "out.npy"]),
    ({"CLACT_SOFTMAX_PATH": "split"}, ["apply", "log_softmax", "dim=-1", "row.npy", "out.npy"]),
    ({}, ["apply", "glu", "dim=-1", "x.npy", "out.npy"]),
    ({}, ["backward", "gelu", "x.npy", "dy.npy", "out.npy"]),
    ({}, ["backward", "log_softmax", "dim=-1", "x.npy", "dy.npy", "out.npy"]),
    ({"CLACT_CACHE_DIR": None}, ["apply", "sigmoid", "x.npy", "out.npy"]),
    ({"CLACT_CACHE_DIR": warm}, ["apply", "sigmoid", "x.npy", "out.npy"]),
]
# Every call the shim can fail; those a scenario never makes end its walk at the first point.
functions = ["clEnqueueWriteBuffer", "clEnqueueNDRangeKernel", "clEnqueueReadBuffer",
             "clSetKernelArg", "clGetDeviceInfo", "clCreateBuffer", "clBuildProgram",
             "clCreateKernelsInProgram", "clEnqueueFillBuffer", "clEnqueueMarkerWithWaitList",
             "clCreateProgramWithBinary", "clGetProgramInfo"]
inputs = {"x.npy", "dy.npy", "row.npy"}
fresh = 0


def scenario_env(extra):
    """The environment of one run: a fresh cache folder where the scenario asks for one."""
    global fresh
    env = dict(os.environ)
    for k, v in extra.items():
        if v is None:
            fresh += 1
            v = os.path.join(caches, f"cold{fresh}")
        env[k] = v
    return env


for extra, sc in scenarios:
    out = os.path.join(work, "out.npy")
    base_run = subprocess.run([cli] + sc, capture_output=True, text=True, cwd=work,
                              env=scenario_env(extra))
    assert base_run.returncode == 0, (sc, base_run.stderr)
    want = open(out, "rb").read()
    os.unlink(out)
    for fn in functions:
        for nth in range(1, 400):
            env = dict(scenario_env(extra), LD_PRELOAD=shim, CLACT_FAULT=f"{fn}:{nth}:-5")
            r = subprocess.run([cli] + sc, capture_output=True, text=True, env=env, cwd=work,
                               timeout=120)
            left = set(os.listdir(work)) - inputs
            if r.returncode == 0:
                got = open(out, "rb").read() if os.path.exists(out) else None
                if got != want or left != {"out.npy"}:
                    print(f"FAIL {' '.join(sc)} with {fn} #{nth}: exit 0, output differs or "
                          f"files left {sorted(left)}")
                    failures += 1
                os.unlink(out)
                break
            points += 1
            lines = r.stderr.strip().splitlines()
            if (r.returncode != 1 or len(lines) != 1 or fn not in lines[0]
                    or "CL_OUT_OF_RESOURCES" not in lines[0] or left):
                print(f"FAIL {' '.join(sc)} with {fn} #{nth}: exit {r.returncode}, "
                      f"stderr {r.stderr!r}, files left {sorted(left)}")
                failures += 1
            for f in left:
                os.unlink(os.path.join(work, f))
        else:
            print(f"FAIL {' '.join(sc)}: {fn} still failing after 400 calls")
            failures += 1
shutil.rmtree(work)
shutil.rmtree(caches)
print(f"preload_faults: {points} failure points walked, {failures} wrong")
sys.exit(1 if failures or points < 5 else 0)

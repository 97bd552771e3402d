#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every program (the files host/program.c lists for each)
built by the default OpenCL device's compiler at the vector widths the Check suite does not run
here, 1, 2 and 4 (the library picks 4, 8 or 16 from the device, host/context.c; the prelude
accepts 1 to 16), in every dtype (f32, f16, bf16; f64 where the device has cl_khr_fp64), with
the options the library uses: so that the kernels keep compiling at widths another device
would pick. --all adds 8 and 16. f16 is built at 8 and 16 as well in any case: a failed f16 build
makes the library build again with -DCLACT_HALF_SOFTWARE (host/program.c), so the Check suite
would pass on the integer conversions and never say that the default's vload_half/vstore_half
path stopped compiling. Exits 1 with the build log of each failure. CLACT_KERNEL_DIR
reads the kernels from another directory, as for the library. Builds run in two processes."""
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor

import pyopencl as cl

HERE = os.path.dirname(os.path.abspath(__file__))
KDIR = os.environ.get("CLACT_KERNEL_DIR") or os.path.join(HERE, "..", "kernels")


def programs():
    """The library's programs and their files, read from host/program.c's table, so that this
    list cannot fall behind it."""
    text = open(os.path.join(HERE, "..", "host", "program.c")).read()
    table = re.findall(r"\[CLACT__PROGRAM_(\w+)\]\s*=\s*\{([^}]*)\}", text)
    found = {name.lower(): re.findall(r'"([^"]+)"', files) for name, files in table}
    assert found and all(found.values()), "no program table in host/program.c"
    return found


PROGRAMS = programs()


def build(job):
    name, vw, dt = job
    ctx = cl.create_some_context(interactive=False)
    src = "".join(open(os.path.join(KDIR, f)).read() for f in PROGRAMS[name])
    opts = f"-cl-std=CL1.2 -w -DCLACT_{dt} -DCLACT_VW={vw}"
    try:
        cl.Program(ctx, src).build(options=opts)
        return None
    except cl.RuntimeError as e:
        return f"FAIL {name} {opts}:\n{str(e)[:4000]}"


def main():
    dev = cl.create_some_context(interactive=False).devices[0]
    dtypes = ["F32", "F16", "BF16"] + (["F64"] if "cl_khr_fp64" in dev.extensions else [])
    widths = (1, 2, 4, 8, 16) if "--all" in sys.argv else (1, 2, 4)
    jobs = [(name, vw, dt) for name in PROGRAMS for vw in widths for dt in dtypes]
    jobs += [(name, vw, "F16") for name in PROGRAMS for vw in (8, 16) if vw not in widths]
    with ProcessPoolExecutor(max_workers=2) as pool:
        fails = [r for r in pool.map(build, jobs) if r]
    for f in fails:
        print(f)
    print(f"kernel builds on '{dev.name.strip()}': {len(jobs) - len(fails)} built, "
          f"{len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

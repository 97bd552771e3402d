# SPDX-License-Identifier: MIT
"""SVG charts (tools/svg.c) through tests/svg_driver: random figures parsed as XML, every drawn
point checked against the data through the axes' own tick marks (a tick label's value and its
place give the axis map, so the test needs none of the writer's layout constants), the ticks
checked for nice values covering the data, breaks at NaN and inf, clipping to fixed ranges,
text escaping, and failed writes leaving nothing behind.

Usage: svg_chart.py SVG_DRIVER
"""
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

NS = {"s": "http://www.w3.org/2000/svg"}
TOL = 0.02  # px: tick places and points are printed to 0.01 px, each rounded by up to 0.005


def run_driver(driver, out, spec):
    return subprocess.run([driver, out], input=spec.encode(), capture_output=True)


def spec_text(title, panels):
    lines = [] if title is None else ["title " + title]
    for p in panels:
        head = ["panel " + p["title"], p["xlabel"], p["ylabel"], str(p["log_y"])]
        if "fixed" in p:
            head += [repr(v) for v in p["fixed"]]
        lines.append("\t".join(head))
        if p.get("no_legend"):
            lines.append("nolegend")
        for s in p["series"]:
            lines.append("\t".join(["series " + s["name"], str(s["markers"]), str(s["dashed"])]))
            lines += ["%r %r" % (x, y) for x, y in zip(s["x"], s["y"])]
    return "\n".join(lines) + "\n"


def is_125(d):
    m = d / 10 ** math.floor(math.log10(d))
    return any(abs(m - k) < 1e-6 for k in (1, 2, 5, 10))


def axis_map(ticks, log_scale, what):
    """(value -> px) from the tick labels: a straight line through them (in log10 for a log
    axis), checked to hold for every tick."""
    assert len(ticks) >= 2, "%s: %d ticks" % (what, len(ticks))
    vals = [v for v, _ in ticks]
    assert vals == sorted(vals) and len(set(vals)) == len(vals), "%s: ticks %s" % (what, vals)
    f = (lambda v: math.log10(v)) if log_scale else (lambda v: v)
    (v0, p0), (v1, p1) = ticks[0], ticks[-1]
    slope = (p1 - p0) / (f(v1) - f(v0))
    for v, p in ticks:
        want = p0 + (f(v) - f(v0)) * slope
        assert abs(p - want) < TOL * 3, "%s: tick %g at %g, the line says %g" % (what, v, p, want)
    return lambda v: p0 + (f(v) - f(v0)) * slope


def check_ticks(ticks, log_scale, lo_px, hi_px, fixed, what):
    vals = [v for v, _ in ticks]
    if log_scale:
        for v in vals:
            assert is_125(v), "%s: log tick %g" % (what, v)
    else:
        step = vals[1] - vals[0]
        assert is_125(step), "%s: step %g" % (what, step)
        for a, b in zip(vals, vals[1:]):
            assert abs(b - a - step) <= 1e-9 * abs(step), "%s: uneven ticks %s" % (what, vals)
        assert 4 <= len(vals) <= 10, "%s: %d ticks" % (what, len(vals))
    if not fixed:
        # The axis ends on ticks: the first and last sit on the plot area's edges.
        assert abs(ticks[0][1] - lo_px) < TOL and abs(ticks[-1][1] - hi_px) < TOL, \
            "%s: end ticks at %g, %g; edges %g, %g" % (what, ticks[0][1], ticks[-1][1], lo_px, hi_px)


def points_of(poly):
    return [tuple(float(c) for c in pt.split(",")) for pt in poly.get("points").split()]


def valid(x, y, log_y):
    return math.isfinite(x) and math.isfinite(y) and (y > 0 or not log_y)


def pieces(s, log_y):
    out, cur = [], []
    for x, y in zip(s["x"], s["y"]):
        if valid(x, y, log_y):
            cur.append((x, y))
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def near(a, b):
    return abs(a[0] - b[0]) < TOL and abs(a[1] - b[1]) < TOL


def panel_geometry(g, log_y, fixed, what):
    rect = g.find("s:rect[@class='plot-area']", NS)
    left, top = float(rect.get("x")), float(rect.get("y"))
    right, bottom = left + float(rect.get("width")), top + float(rect.get("height"))
    xt = [(float(t.text), float(t.get("x"))) for t in g.findall("s:g[@class='xticks']/s:text", NS)]
    yt = [(float(t.text), float(t.get("y"))) for t in g.findall("s:g[@class='yticks']/s:text", NS)]
    check_ticks(xt, False, left, right, fixed, what + " x")
    check_ticks(yt, log_y, bottom, top, fixed, what + " y")
    mx, my = axis_map(xt, False, what + " x"), axis_map(yt, log_y, what + " y")
    return (left, top, right, bottom), lambda x, y: (mx(x), my(y))


def check_auto_panel(g, p, what):
    box, m = panel_geometry(g, p["log_y"], False, what)
    groups = g.findall("s:g[@class='series']", NS)
    assert len(groups) == len(p["series"]), what
    for grp, s in zip(groups, p["series"]):
        name = "%s series %r" % (what, s["name"])
        assert grp.find("s:title", NS).text in (s["name"], None), name
        polys = [points_of(e) for e in grp.findall("s:polyline", NS)]
        want = [pc for pc in pieces(s, p["log_y"]) if len(pc) >= 2]
        assert len(polys) == len(want), "%s: %d lines, want %d" % (name, len(polys), len(want))
        for got, pc in zip(polys, want):
            assert len(got) == len(pc), "%s: %d points, want %d" % (name, len(got), len(pc))
            for q, (x, y) in zip(got, pc):
                assert near(q, m(x, y)), "%s: (%r, %r) at %s, want %s" % (name, x, y, q, m(x, y))
                assert box[0] - TOL <= q[0] <= box[2] + TOL and box[1] - TOL <= q[1] <= box[3] + TOL
        circles = [(float(c.get("cx")), float(c.get("cy")), float(c.get("r")))
                   for c in grp.findall("s:circle", NS)]
        if s["markers"]:
            want_c = [m(x, y) for x, y in zip(s["x"], s["y"]) if valid(x, y, p["log_y"])]
        else:  # a point alone between breaks is a dot
            want_c = [m(*pc[0]) for pc in pieces(s, p["log_y"]) if len(pc) == 1]
        assert len(circles) == len(want_c), "%s: %d dots, want %d" % (name, len(circles), len(want_c))
        for c, w in zip(circles, want_c):
            assert near(c[:2], w), "%s: dot at %s, want %s" % (name, c[:2], w)


def on_segment(q, a, b):
    """Distance from q to the segment a-b."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    L = dx * dx + dy * dy
    t = 0 if L == 0 else max(0, min(1, ((q[0] - a[0]) * dx + (q[1] - a[1]) * dy) / L))
    return math.hypot(q[0] - a[0] - t * dx, q[1] - a[1] - t * dy)


def check_clipped_panel(g, p, what):
    """A fixed range: lines stay in the plot area, run along the data's segments, and pass
    through every data point inside the range that has a drawn neighbour."""
    box, m = panel_geometry(g, False, True, what)
    x0, x1, y0, y1 = p["fixed"]
    for grp, s in zip(g.findall("s:g[@class='series']", NS), p["series"]):
        segs = []
        for pc in pieces(s, False):
            pts = [m(x, y) for x, y in pc]
            segs += list(zip(pts, pts[1:]))
        verts = []
        for poly in grp.findall("s:polyline", NS):
            got = points_of(poly)
            verts += got
            for q in got:
                assert box[0] - TOL <= q[0] <= box[2] + TOL and box[1] - TOL <= q[1] <= box[3] + TOL, \
                    "%s: %s outside the plot area %s" % (what, q, box)
            for a, b in zip(got, got[1:]):
                mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                assert any(on_segment(a, *sg) < TOL * 2 and on_segment(b, *sg) < TOL * 2
                           and on_segment(mid, *sg) < TOL * 2 for sg in segs), \
                    "%s: line piece %s-%s on no data segment" % (what, a, b)
        for pc in pieces(s, False):
            if len(pc) < 2:
                continue
            for x, y in pc:
                if x0 <= x <= x1 and y0 <= y <= y1:
                    q = m(x, y)
                    assert any(near(q, v) for v in verts), "%s: (%r, %r) not drawn" % (what, x, y)


def random_series(rng, name, n, scale, offset, markers=0, dashed=0, log=False):
    xs = sorted(rng.uniform(-1, 1) * scale for _ in range(n))
    ys, y = [], 0.0
    for _ in range(n):
        y += rng.gauss(0, 1)
        ys.append(10 ** (y / 3) * offset if log else offset + y * scale)
    for _ in range(rng.randint(0, 3)):  # breaks
        if n:
            i = rng.randrange(n)
            if rng.random() < 0.5:
                ys[i] = rng.choice([math.nan, math.inf, -math.inf] + ([0.0, -1.0] if log else []))
            else:
                xs[i] = rng.choice([math.nan, math.inf])
    return {"name": name, "x": xs, "y": ys, "markers": markers, "dashed": dashed}


def random_figure(rng):
    scale = 10 ** rng.uniform(-5, 5)
    lin = {"title": "loss & <accuracy>", "xlabel": "epoch", "ylabel": "loss (nats)", "log_y": 0,
           "series": [random_series(rng, "train \"loss\"", rng.randint(2, 80), scale, rng.uniform(-3, 3) * scale),
                      random_series(rng, "test 'acc' µ", rng.randint(1, 10), scale, scale, markers=1),
                      random_series(rng, "empty", 0, 1, 0),
                      random_series(rng, "", rng.randint(2, 20), scale, 0, dashed=1)]}
    log = {"title": "log", "xlabel": "step", "ylabel": "gradient norm", "log_y": 1,
           "series": [random_series(rng, "s%d" % k, rng.randint(2, 50), 100, 10 ** rng.uniform(-6, 6),
                                    log=True, dashed=k % 2) for k in range(rng.randint(1, 12))]}
    fixed = {"title": "clipped", "xlabel": "x", "ylabel": "y", "log_y": 0, "fixed": (-0.5, 0.5, -1, 1),
             "series": [random_series(rng, "wide", rng.randint(10, 60), 1.5, 0.0),
                        random_series(rng, "dots", rng.randint(2, 10), 1, 0.0, markers=1)]}
    for p in (lin, log, fixed):
        p["no_legend"] = rng.random() < 0.25
    return [lin, log, fixed]


def check_figure(driver, tmp, rng, trial):
    panels = random_figure(rng)
    title = "Fashion-MNIST <run %d> & 'co' \"ok\"" % trial
    out = os.path.join(tmp, "f.svg")
    r = run_driver(driver, out, spec_text(title, panels))
    assert r.returncode == 0, r.stderr.decode()
    root = ET.parse(out).getroot()
    assert root.tag == "{%s}svg" % NS["s"]
    assert root.find("s:text[@class='title']", NS).text == title
    groups = root.findall("s:g[@class='panel']", NS)
    assert len(groups) == len(panels)
    for k, (g, p) in enumerate(zip(groups, panels)):
        what = "trial %d panel %d" % (trial, k + 1)
        assert g.find("s:text[@class='panel-title']", NS).text == p["title"]
        assert g.find("s:text[@class='xlabel']", NS).text == p["xlabel"]
        assert g.find("s:text[@class='ylabel']", NS).text == p["ylabel"]
        legend = [t.text for t in g.findall("s:g[@class='legend']/s:text", NS)]
        want = [] if p["no_legend"] else [s["name"] for s in p["series"] if s["name"]]
        assert legend == want, "%s: legend %s" % (what, legend)
        assert (g.find("s:g[@class='legend']", NS) is None) == (not want), what
        if "fixed" in p:
            check_clipped_panel(g, p, what)
        else:
            check_auto_panel(g, p, what)
    # Panels side by side, none overlapping, all inside the figure.
    width = float(root.get("width"))
    rects = [g.find("s:rect[@class='plot-area']", NS) for g in groups]
    xs = [(float(r_.get("x")), float(r_.get("x")) + float(r_.get("width"))) for r_ in rects]
    assert all(a[1] < b[0] for a, b in zip(xs, xs[1:])) and xs[-1][1] < width
    return out


def check_failures(driver, tmp):
    spec = spec_text(None, [{"title": "t", "xlabel": "x", "ylabel": "y", "log_y": 0,
                             "series": [{"name": "a", "x": [1, 2], "y": [3, 4], "markers": 0,
                                         "dashed": 0}]}])
    d = os.path.join(tmp, "fail")
    os.mkdir(d)
    r = run_driver(driver, os.path.join(d, "no", "such", "f.svg"), spec)
    assert r.returncode == 1 and b"no/such/f.svg" in r.stderr, r.stderr
    os.mkdir(os.path.join(d, "adir"))
    r = run_driver(driver, os.path.join(d, "adir"), spec)
    assert r.returncode == 1 and b"adir" in r.stderr, r.stderr
    assert os.listdir(d) == ["adir"], os.listdir(d)
    r = run_driver(driver, os.path.join(d, "f.svg"), "title only a title\n")
    assert r.returncode == 1 and b"at least one panel" in r.stderr, r.stderr
    assert os.listdir(d) == ["adir"], os.listdir(d)


def main():
    driver = sys.argv[1]
    seed = int(os.environ.get("CLACT_TEST_SEED", random.SystemRandom().randrange(1 << 63)))
    print("svg_chart: seed %d (set CLACT_TEST_SEED=%d to repeat this run)" % (seed, seed))
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="clact_svg_")
    try:
        for trial in range(40):
            out = check_figure(driver, tmp, rng, trial)
        check_failures(driver, tmp)
        # The last figure as a PNG where a converter is installed: it must render.
        if shutil.which("rsvg-convert"):
            png = os.path.join(tmp, "f.png")
            r = subprocess.run(["rsvg-convert", "-o", png, out], capture_output=True)
            assert r.returncode == 0, r.stderr.decode()
            with open(png, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
            print("svg_chart: rendered with rsvg-convert")
    finally:
        shutil.rmtree(tmp)
    print("svg_chart: 40 random figures checked")


if __name__ == "__main__":
    main()

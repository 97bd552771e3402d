/* SPDX-License-Identifier: MIT */
/* SVG charts: the tick rule on random ranges, the errors, atomic writing, and escaping. The
 * drawn geometry (points against the axes) is checked by tests/svg_chart.py, which parses the
 * output as XML. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svg.h"
#include "tools_tests.h"

static double uniform(uint64_t *rng, double lo, double hi) {
    return lo + (hi - lo) * (double)(tt_next(rng) >> 11) * 0x1p-53;
}

/* Whether d is 1, 2 or 5 times a power of ten (to rounding). */
static int is_125(double d) {
    double m = d / pow(10.0, floor(log10(d)));
    return fabs(m - 1) < 1e-6 || fabs(m - 2) < 1e-6 || fabs(m - 5) < 1e-6 || fabs(m - 10) < 1e-5;
}

static void check_linear(double lo, double hi, int fixed) {
    svg_ticks t;
    svg_nice_ticks(lo, hi, 0, fixed, &t);
    /* Auto: step >= range / 6 gives at most 8 ticks after widening, and the 1-2-5 ladder's
     * largest ratio, 2.5, at least 4. Fixed: stepping down from under 4 gives fewer than 10. */
    ck_assert_msg(t.n >= 4 && t.n <= (fixed ? 10u : 8u), "[%g, %g]: %zu ticks", lo, hi, t.n);
    double step = t.value[1] - t.value[0];
    ck_assert_msg(is_125(step), "[%g, %g]: step %g", lo, hi, step);
    for (size_t i = 1; i < t.n; ++i)
        ck_assert_msg(fabs(t.value[i] - t.value[i - 1] - step) <= 1e-9 * step, "[%g, %g]: uneven",
                      lo, hi);
    /* Each tick a whole multiple of the step. */
    for (size_t i = 0; i < t.n; ++i)
        ck_assert_msg(fabs(t.value[i] / step - nearbyint(t.value[i] / step)) < 1e-6,
                      "[%g, %g]: tick %g", lo, hi, t.value[i]);
    if (fixed) {
        ck_assert(t.lo == lo && t.hi == hi);
        ck_assert_msg(t.value[0] >= lo - 1e-9 * step && t.value[t.n - 1] <= hi + 1e-9 * step,
                      "[%g, %g]: ticks outside", lo, hi);
        ck_assert_msg(t.value[0] - lo < step * (1 + 1e-9) &&
                          hi - t.value[t.n - 1] < step * (1 + 1e-9),
                      "[%g, %g]: a tick missing at an end", lo, hi);
    } else {
        /* The axis covers the data, ends on ticks, and widens by less than a step each side. */
        ck_assert_msg(t.lo <= lo && t.hi >= hi, "[%g, %g]: axis [%g, %g]", lo, hi, t.lo, t.hi);
        ck_assert(fabs(t.value[0] - t.lo) <= 1e-9 * step);
        ck_assert(fabs(t.value[t.n - 1] - t.hi) <= 1e-9 * step);
        ck_assert_msg(lo - t.lo < step && t.hi - hi < step, "[%g, %g]: axis [%g, %g]", lo, hi, t.lo,
                      t.hi);
    }
}

/* 20000 random ranges each (1000 under valgrind: every passing check writes to Check's pipe). */
START_TEST(svg_ticks_linear) {
    uint64_t rng = tt_seed() ^ 0x5f6;
    for (int i = 0, n = tt_quick() ? 1000 : 20000; i < n; ++i) {
        double scale = pow(10.0, uniform(&rng, -12, 12));
        double a = uniform(&rng, -1, 1) * scale, b = a + uniform(&rng, 1e-3, 3) * scale;
        check_linear(a, b, i & 1);
    }
    /* Ranges met in training: epochs 1..10, accuracy 0..1, losses. */
    check_linear(1, 10, 0);
    check_linear(0.1, 0.93, 0);
    check_linear(0.28, 2.31, 0);
    check_linear(-1e300, 1e300, 0);
    svg_ticks t;
    svg_nice_ticks(1, 10, 0, 0, &t);
    ck_assert(t.lo == 0 && t.hi == 10 && t.n == 6);
    /* A single value widens around itself. */
    svg_nice_ticks(0, 0, 0, 0, &t);
    ck_assert(t.lo == -1 && t.hi == 1);
    svg_nice_ticks(5, 5, 0, 0, &t);
    ck_assert(t.lo < 5 && t.hi > 5 && t.lo >= 4 && t.hi <= 6);
    svg_nice_ticks(-3e-7, -3e-7, 0, 0, &t);
    ck_assert(t.lo < -3e-7 && t.hi > -3e-7 && t.hi < 0);
    /* Values a few ulps apart count as one. */
    svg_nice_ticks(0.1, nextafter(0.1, 1), 0, 0, &t);
    ck_assert(t.n >= 4 && t.lo < 0.1 && t.hi > 0.1 && t.lo >= 0.08 && t.hi <= 0.12);
    for (size_t i = 1; i < t.n; ++i)
        ck_assert(t.value[i] > t.value[i - 1]);
}
END_TEST

START_TEST(svg_ticks_log) {
    uint64_t rng = tt_seed() ^ 0x5f7;
    for (int i = 0, n = tt_quick() ? 1000 : 20000; i < n; ++i) {
        double lo = pow(10.0, uniform(&rng, -310, 300)), hi = lo * pow(10.0, uniform(&rng, 0, 20));
        if (!isfinite(hi))
            continue;
        svg_ticks t;
        svg_nice_ticks(lo, hi, 1, 0, &t);
        ck_assert_msg(t.lo <= lo && t.hi >= hi, "[%g, %g]: axis [%g, %g]", lo, hi, t.lo, t.hi);
        /* Whole decades, at most one more than the data spans each side (where those are
         * normal doubles). */
        double dl = log10(t.lo), dh = log10(t.hi);
        ck_assert_msg((fabs(dl - nearbyint(dl)) < 1e-9 || t.lo == lo) &&
                          (fabs(dh - nearbyint(dh)) < 1e-9 || t.hi == hi),
                      "[%g, %g]: axis [%g, %g]", lo, hi, t.lo, t.hi);
        /* Widened by less than a decade, then to the next labelled decade (every k-th). */
        double kk = t.n >= 2 && t.value[1] / t.value[0] >= 10 ? log10(t.value[1] / t.value[0]) : 1;
        ck_assert_msg(log10(lo) - dl < kk + 1e-9 && dh - log10(hi) < kk + 1e-9,
                      "[%g, %g]: axis [%g, %g], labels every %g decades", lo, hi, t.lo, t.hi, kk);
        ck_assert_msg(t.n >= 2 && t.n <= 10, "[%g, %g]: %zu ticks", lo, hi, t.n);
        int all_125 = 1, ordered = 1, within = 1;
        for (size_t k = 0; k < t.n; ++k) {
            all_125 &= is_125(t.value[k]);
            within &= t.value[k] >= t.lo * (1 - 1e-9) && t.value[k] <= t.hi * (1 + 1e-9);
            ordered &= k == 0 || t.value[k] > t.value[k - 1];
        }
        ck_assert_msg(within && ordered, "[%g, %g]: ticks out of range or order", lo, hi);
        /* Ticks at 1, 2 and 5 times powers of ten; or, where the axis could not widen to
         * decades (subnormal data) and less than a decade holds fewer than two of those, even
         * steps of 1, 2 or 5 times a power of ten. */
        ck_assert_msg(all_125 || (t.hi / t.lo < 10 && is_125(t.value[1] - t.value[0])),
                      "[%g, %g]: ticks %g, %g, ...", lo, hi, t.value[0], t.value[1]);
    }
    svg_ticks t;
    svg_nice_ticks(0.3, 0.45, 1, 0, &t);
    ck_assert(t.lo == 0.1 && t.hi == 1 && t.n == 4); /* 0.1, 0.2, 0.5, 1 */
    svg_nice_ticks(0.003, 2000, 1, 0, &t);
    ck_assert(fabs(t.lo - 1e-3) < 1e-18 && t.hi == 1e4 && t.n == 8);
    /* A fixed range inside a decade holding one 1-2-5 value is ticked linearly. */
    svg_nice_ticks(3, 4.5, 1, 1, &t);
    ck_assert(t.lo == 3 && t.hi == 4.5 && t.n >= 3);
}
END_TEST

static double xs[5] = {1, 2, 3, 4, 5}, ys[5] = {0.5, NAN, 0.25, 0.75, 1};

START_TEST(svg_errors) {
    char err[512], path[512];
    tt_path(path, sizeof path, "e.svg");
    svg_series ok = {"s", xs, ys, 5, 0, 0}, nox = {"bad", NULL, ys, 5, 0, 0};
    svg_panel p = {"t", "x", "y", 0, &ok, 1, 0, 0, 0, 0, 0};
    ck_assert_int_eq(svg_write_figure(path, "f", NULL, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "at least one panel"), "%s", err);
    svg_panel q = p;
    q.series = &nox;
    ck_assert_int_eq(svg_write_figure(path, "f", &q, 1, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "series 1 (bad): 5 points but no x array"), "%s", err);
    q = p;
    q.log_y = 1;
    q.y_min = 0;
    q.y_max = 10;
    ck_assert_int_eq(svg_write_figure(path, "f", &q, 1, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "log-scale y range must be positive"), "%s", err);
    q = p;
    q.x_min = 0;
    q.x_max = INFINITY;
    ck_assert_int_eq(svg_write_figure(path, "f", &q, 1, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "must be finite"), "%s", err);
    ck_assert_int_eq(tt_entries(tt_dir()), 0);
    ck_assert_int_eq(svg_write_figure(path, "f", &p, 1, NULL, 0), 0);
    ck_assert_int_eq(tt_entries(tt_dir()), 1);
}
END_TEST

/* On any error the destination is untouched and no temporary file is left. */
START_TEST(svg_atomic) {
    char err[512], path[512], cmd[1200];
    svg_series s = {"s", xs, ys, 5, 1, 0};
    svg_panel p = {"t", "x", "y", 0, &s, 1, 0, 0, 0, 0, 0};
    ck_assert_int_eq(svg_write_figure(tt_path(path, sizeof path, "no/such/dir/a.svg"), "f", &p, 1,
                                      err, sizeof err),
                     -1);
    ck_assert_msg(strstr(err, "cannot write") && strstr(err, "no/such/dir/a.svg"), "%s", err);
    ck_assert_int_eq(tt_entries(tt_dir()), 0);
    /* A directory in the way of the rename. */
    ck_assert_int_eq(mkdir(tt_path(path, sizeof path, "adir"), 0700), 0);
    ck_assert_int_eq(svg_write_figure(path, "f", &p, 1, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "adir"), "%s", err);
    ck_assert_int_eq(tt_entries(tt_dir()), 1);
    /* An existing figure is replaced whole, keeping nothing else beside it. */
    tt_path(path, sizeof path, "a.svg");
    FILE *f = fopen(path, "w");
    fputs("old", f);
    fclose(f);
    ck_assert_int_eq(svg_write_figure(path, "f", &p, 1, err, sizeof err), 0);
    ck_assert_int_eq(tt_entries(tt_dir()), 2);
    snprintf(cmd, sizeof cmd, "head -c 5 '%s' | grep -q '<?xml'", path);
    ck_assert_int_eq(system(cmd), 0);
    /* A directory without write permission (root ignores permissions: that case is skipped). */
    if (geteuid() != 0) {
        ck_assert_int_eq(chmod(tt_dir(), 0500), 0);
        ck_assert_int_eq(svg_write_figure(path, "g", &p, 1, err, sizeof err), -1);
        ck_assert_msg(strstr(err, "Permission denied"), "%s", err);
        ck_assert_int_eq(chmod(tt_dir(), 0700), 0);
        ck_assert_int_eq(tt_entries(tt_dir()), 2);
    }
}
END_TEST

/* The output path decides how a figure is written, as for .npy outputs (clact_file_write): a
 * symbolic link is followed and kept (before: replaced by a regular file), an existing FIFO is
 * written through to its reader (before: replaced). */
START_TEST(svg_targets) {
    char err[512], path[512], link[512], got[512], cmd[1600];
    svg_series s = {"s", xs, ys, 5, 1, 0};
    svg_panel p = {"t", "x", "y", 0, &s, 1, 0, 0, 0, 0, 0};
    struct stat sb;
    tt_path(path, sizeof path, "real.svg");
    tt_path(link, sizeof link, "link.svg");
    ck_assert_int_eq(symlink("real.svg", link), 0);
    ck_assert_int_eq(svg_write_figure(link, "f", &p, 1, err, sizeof err), 0);
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert_msg(S_ISLNK(sb.st_mode), "the link was replaced");
    snprintf(cmd, sizeof cmd, "head -c 5 '%s' | grep -q '<?xml'", path);
    ck_assert_int_eq(system(cmd), 0);
    /* A FIFO: a child copies what it reads into a file; the FIFO stays a FIFO. */
    tt_path(path, sizeof path, "out.fifo");
    tt_path(got, sizeof got, "from_fifo.svg");
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *in = fopen(path, "rb"), *out = fopen(got, "wb");
        char buf[4096];
        size_t n;
        while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, n, out);
        _exit(in && out && fclose(out) == 0 ? 0 : 1);
    }
    int ws = svg_write_figure(path, "f", &p, 1, err, sizeof err);
    int status = 0, fifo = lstat(path, &sb) == 0 && S_ISFIFO(sb.st_mode);
    if (!fifo) /* the reader would wait forever for a writer */
        kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(fifo, "the FIFO was replaced by a regular file");
    ck_assert_msg(ws == 0, "%s", err);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(cmd, sizeof cmd, "tail -c 7 '%s' | grep -q '</svg>'", got);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = calloc(1, 1 << 20);
    ck_assert_ptr_nonnull(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int occurrences(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        ++n;
    return n;
}

START_TEST(svg_escaping_and_breaks) {
    char err[512], path[512];
    double x[7] = {0, 1, 2, 3, 4, 5, 6}, y[7] = {1, 2, INFINITY, 3, NAN, 4, 5};
    svg_series s[3] = {{"a<b & \"c\" 'd'>", x, y, 7, 0, 0},
                       {"ctrl\x01 bad\xff utf8 \xc2\xb5s", x, y, 7, 0, 1},
                       {"", NULL, NULL, 0, 0, 0}};
    svg_panel p = {"<panel>", "x & y", "y", 0, s, 3, 0, 0, 0, 0, 0};
    ck_assert_int_eq(
        svg_write_figure(tt_path(path, sizeof path, "esc.svg"), "T&\"'<>", &p, 1, err, sizeof err),
        0);
    char *svg = slurp(path);
    ck_assert_ptr_nonnull(strstr(svg, ">T&amp;&quot;&apos;&lt;&gt;</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;<"));
    ck_assert_ptr_nonnull(strstr(svg, ">&lt;panel&gt;<"));
    ck_assert_ptr_nonnull(strstr(svg, ">x &amp; y<"));
    /* The control character and the stray byte replaced, valid UTF-8 (µ) kept. */
    ck_assert_ptr_nonnull(strstr(svg, "ctrl&#xFFFD; bad&#xFFFD; utf8 \xc2\xb5s"));
    ck_assert_ptr_null(strstr(svg, "\x01"));
    ck_assert_ptr_null(strstr(svg, "\xff"));
    /* Each of the two drawn series breaks at inf and NaN: pieces 0-1, then 3 alone (a dot), then
     * 5-6. */
    ck_assert_int_eq(occurrences(svg, "<polyline"), 4);
    ck_assert_int_eq(occurrences(svg, "r=\"2.5\""), 2);
    ck_assert_int_eq(occurrences(svg, "stroke-dasharray=\"7,4\""), 2); /* the line and its key */
    free(svg);
}
END_TEST

Suite *svg_suite(void) {
    Suite *s = suite_create("svg");
    TCase *tc = tcase_create("charts");
    tcase_add_checked_fixture(tc, tt_make_dir, tt_remove_dir);
    tcase_add_test(tc, svg_ticks_linear);
    tcase_add_test(tc, svg_ticks_log);
    tcase_add_test(tc, svg_errors);
    tcase_add_test(tc, svg_atomic);
    tcase_add_test(tc, svg_targets);
    tcase_add_test(tc, svg_escaping_and_breaks);
    suite_add_tcase(s, tc);
    return s;
}

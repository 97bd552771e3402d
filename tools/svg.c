/* SPDX-License-Identifier: MIT */
/* SVG line charts. Everything is placed in absolute pixel coordinates (no transforms), so that
 * a reader of the file, or a test, can relate each point to the axes directly. Numbers are
 * printed in the C locale: the clact command never calls setlocale. */
#define _POSIX_C_SOURCE 200809L
#include "svg.h"

#include "npy.h" /* clact_file_write */

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tableau 10: distinct hues of similar weight that stay apart for common colour blindness. */
static const char *const palette[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

/* Layout in pixels and font sizes in px. Text widths are estimated at CHAR_EM of the font size
 * per character, a little wider than DejaVu Sans's average, so that labels never overlap. */
#define PLOT_W       400.0
#define PLOT_H       280.0
#define PAD_TOP      40.0
#define PAD_BOTTOM   56.0
#define PAD_RIGHT    24.0
#define FIG_TITLE_H  36.0
#define LEGEND_ROW   20.0
#define CHAR_EM      0.62
#define FONT_FIGURE  18.0
#define FONT_TITLE   15.0
#define FONT_LABEL   13.0
#define FONT_TICK    11.0
#define FONT_LEGEND  12.0
#define TARGET_TICKS 6.0

static int fail(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The tick spacing: 1, 2 or 5 times a power of ten, the smallest not below range / target. */
static double nice_step(double lo, double hi) {
    double raw = hi / TARGET_TICKS - lo / TARGET_TICKS; /* no overflow for any finite lo, hi */
    double mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f <= 1.0 + 1e-9 ? 1.0 : f <= 2.0 + 1e-9 ? 2.0 : f <= 5.0 + 1e-9 ? 5.0 : 10.0) * mag;
}

static void linear_ticks(double lo, double hi, int fixed, svg_ticks *t) {
    /* A range within rounding of its values (all values equal, or a few ulps apart) is not
     * one to tick: widened, as a single value, or given as its two ends when fixed. Steps so
     * small against the values would also make the tick multiples k below exceed 2^53. */
    if (!(hi - lo > 1e-12 * fmax(fabs(lo), fabs(hi)))) {
        if (fixed) {
            t->lo = t->value[0] = lo;
            t->hi = t->value[1] = hi;
            t->n = 2;
            return;
        }
        double d = lo == 0 ? 1.0 : fabs(lo) * 0.1;
        lo -= d;
        hi += d;
    }
    double step = nice_step(lo, hi);
    /* A fixed range may hold only two multiples of that step: step down the 1-2-5 ladder. */
    while (fixed && floor(hi / step + 1e-9) - ceil(lo / step - 1e-9) < 3) {
        double m = step / pow(10.0, floor(log10(step) + 1e-9));
        step *= m > 3 ? 0.4 : 0.5; /* 5 to 2, 2 to 1, 1 to 0.5 */
    }
    if (!fixed) {
        double wlo = floor(lo / step) * step, whi = ceil(hi / step) * step;
        /* Rounding in lo / step must not leave data outside the axis. */
        if (wlo > lo)
            wlo -= step;
        if (whi < hi)
            whi += step;
        if (isfinite(wlo) && isfinite(whi)) {
            lo = wlo;
            hi = whi;
        }
    }
    t->lo = lo;
    t->hi = hi;
    double k0 = ceil(lo / step - 1e-9), k1 = floor(hi / step + 1e-9);
    for (double k = k0; k <= k1 && t->n < SVG_MAX_TICKS; ++k)
        t->value[t->n++] = k == 0 ? 0.0 : k * step;
}

/* Labelling every k-th power of ten keeps a log axis to at most 9 labels. */
static int decade_stride(int e0, int e1) { return (e1 - e0 + 7) / 8; }

static int floor_multiple(int e, int k) { return e >= 0 ? e / k * k : -((-e + k - 1) / k * k); }

static void log_ticks(double lo, double hi, int fixed, svg_ticks *t) {
    int e0 = (int)floor(log10(lo)), e1 = (int)ceil(log10(hi));
    if (!fixed) {
        /* Whole decades around the data, ending on labelled ones; log10 may round across a
         * power of ten. Past the normal doubles there is no decade to widen to: that end stays
         * where the data ends. */
        if (pow(10.0, e0) > lo)
            --e0;
        if (pow(10.0, e1) < hi)
            ++e1;
        if (e1 == e0)
            ++e1;
        /* The shortest stride k whose multiples around the data keep to 9 labels. */
        int k = decade_stride(e0, e1);
        while (decade_stride(floor_multiple(e0, k), -floor_multiple(-e1, k)) > k)
            ++k;
        e0 = floor_multiple(e0, k);
        e1 = -floor_multiple(-e1, k);
        if (pow(10.0, e0) >= DBL_MIN)
            lo = pow(10.0, e0);
        if (isfinite(pow(10.0, e1)))
            hi = pow(10.0, e1);
    }
    t->lo = lo;
    t->hi = hi;
    if (log10(hi) - log10(lo) <= 1.0 + 1e-9) {
        static const double m[3] = {1, 2, 5};
        for (int e = e0 - 1; e <= e1; ++e)
            for (int i = 0; i < 3; ++i) {
                double v = m[i] * pow(10.0, e);
                if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) && t->n < SVG_MAX_TICKS)
                    t->value[t->n++] = v;
            }
    } else {
        int d0 = (int)ceil(log10(lo) - 1e-9), d1 = (int)floor(log10(hi) + 1e-9);
        int k = decade_stride(d0, d1);
        for (int e = -floor_multiple(-d0, k); e <= d1 && t->n < SVG_MAX_TICKS; e += k)
            t->value[t->n++] = pow(10.0, e);
    }
    /* A fixed range inside one decade may hold fewer than two of those: tick it linearly. */
    if (t->n < 2) {
        t->n = 0;
        linear_ticks(lo, hi, 1, t);
    }
}

void svg_nice_ticks(double lo, double hi, int log_scale, int fixed, svg_ticks *t) {
    memset(t, 0, sizeof *t);
    if (log_scale)
        log_ticks(lo, hi, fixed, t);
    else
        linear_ticks(lo, hi, fixed, t);
}

/* A tick label: on a linear axis with as many decimals as the step needs (scientific notation
 * for very large or small values), on a log axis %g. */
static void format_tick(char *buf, size_t len, double v, const svg_ticks *t, int log_scale) {
    if (log_scale || t->n < 2) {
        snprintf(buf, len, "%g", v);
        return;
    }
    double step = t->value[1] - t->value[0];
    double amax = fmax(fabs(t->value[0]), fabs(t->value[t->n - 1]));
    int e = (int)floor(log10(step) + 1e-6);
    if (fabs(v) < step * 1e-6)
        v = 0; /* no "-0" and no rounding residue */
    if (amax >= 1e6 || e < -5) {
        int p = (int)floor(log10(amax) + 1e-9) - e + 1;
        snprintf(buf, len, "%.*g", p < 1 ? 1 : p > 17 ? 17 : p, v);
    } else {
        snprintf(buf, len, "%.*f", e < 0 ? -e : 0, v);
    }
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 if none starts there. */
static int utf8_len(const unsigned char *s) {
    int n = s[0] < 0x80                    ? 1
            : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
            : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
            : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                           : 0;
    for (int i = 1; i < n; ++i)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    /* Overlong three- and four-byte forms, surrogates and code points past U+10FFFF. */
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
        return 0;
    return n;
}

/* s escaped for XML text and attribute values; invalid UTF-8 and control characters XML does
 * not allow become U+FFFD. */
static void put_text(FILE *f, const char *s) {
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        int n = utf8_len(p);
        if (n == 0 || (*p < 0x20 && *p != '\t' && *p != '\n')) {
            fputs("&#xFFFD;", f);
            ++p;
            continue;
        }
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fwrite(p, 1, (size_t)n, f);
        }
        p += n;
    }
}

/* The estimated width of s in pixels at the given font size (characters, not bytes). */
static double text_width(const char *s, double font) {
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; ++p)
        chars += (*p & 0xC0) != 0x80;
    return (double)chars * font * CHAR_EM;
}

static int has_text(const char *s) { return s && *s; }

/* One axis as drawn: its ticks and their labels. */
typedef struct axis {
    svg_ticks t;
    int log;
    char label[SVG_MAX_TICKS][40];
} axis;

/* Where a panel goes: its box, its plot area and the legend's corner. */
typedef struct frame {
    double x0, width, height; /* the panel's box, from x0, below the figure title */
    double left, top;         /* the plot area's top-left corner (PLOT_W by PLOT_H) */
    double legend_x, legend_w;
    axis x, y;
} frame;

static int fixed_range(double lo, double hi) { return lo < hi; }

/* Whether a point is drawn: finite, and with positive y on a log scale. */
static int point_ok(const svg_panel *p, double x, double y) {
    return isfinite(x) && isfinite(y) && (!p->log_y || y > 0);
}

/* The range of the panel's drawable points (those inside a fixed x range, for y to fit what is
 * shown); 0 when there are none. */
static int data_range(const svg_panel *p, double *xlo, double *xhi, double *ylo, double *yhi) {
    int any = 0;
    for (size_t s = 0; s < p->nseries; ++s)
        for (size_t i = 0; i < p->series[s].n; ++i) {
            double x = p->series[s].x[i], y = p->series[s].y[i];
            if (!point_ok(p, x, y) ||
                (fixed_range(p->x_min, p->x_max) && (x < p->x_min || x > p->x_max)))
                continue;
            if (!any) {
                *xlo = *xhi = x;
                *ylo = *yhi = y;
                any = 1;
            }
            *xlo = fmin(*xlo, x);
            *xhi = fmax(*xhi, x);
            *ylo = fmin(*ylo, y);
            *yhi = fmax(*yhi, y);
        }
    return any;
}

static void make_axis(axis *a, int log_scale, int any, double lo, double hi, double fmin,
                      double fmax_) {
    a->log = log_scale;
    if (fixed_range(fmin, fmax_))
        svg_nice_ticks(fmin, fmax_, log_scale, 1, &a->t);
    else if (any)
        svg_nice_ticks(lo, hi, log_scale, 0, &a->t);
    else
        svg_nice_ticks(log_scale ? 1 : 0, log_scale ? 10 : 1, log_scale, 1, &a->t);
    for (size_t i = 0; i < a->t.n; ++i)
        format_tick(a->label[i], sizeof a->label[i], a->t.value[i], &a->t, log_scale);
}

static size_t legend_entries(const svg_panel *p) {
    size_t n = 0;
    if (p->no_legend)
        return 0;
    for (size_t s = 0; s < p->nseries; ++s)
        n += has_text(p->series[s].name);
    return n;
}

static void layout_panel(const svg_panel *p, double x0, frame *f) {
    double xlo = 0, xhi = 0, ylo = 0, yhi = 0;
    int any = data_range(p, &xlo, &xhi, &ylo, &yhi);
    make_axis(&f->x, 0, any, xlo, xhi, p->x_min, p->x_max);
    make_axis(&f->y, p->log_y, any, ylo, yhi, p->y_min, p->y_max);
    double ytick_w = 0;
    for (size_t i = 0; i < f->y.t.n; ++i)
        ytick_w = fmax(ytick_w, text_width(f->y.label[i], FONT_TICK));
    f->x0 = x0;
    f->left = x0 + 12 + (has_text(p->ylabel) ? FONT_LABEL + 10 : 0) + ytick_w + 8;
    f->top = PAD_TOP;
    f->legend_x = f->left + PLOT_W + 16;
    f->legend_w = 0;
    for (size_t s = 0; s < p->nseries && !p->no_legend; ++s)
        if (has_text(p->series[s].name))
            f->legend_w = fmax(f->legend_w, 42 + text_width(p->series[s].name, FONT_LEGEND));
    f->width = (f->legend_w > 0 ? f->legend_x + f->legend_w : f->left + PLOT_W) + PAD_RIGHT - x0;
    f->height = fmax(PAD_TOP + PLOT_H + PAD_BOTTOM,
                     PAD_TOP + (double)legend_entries(p) * LEGEND_ROW + 12 + PAD_BOTTOM);
}

/* A value's place along an axis, 0 at lo to 1 at hi (non-finite when far outside). */
static double axis_pos(const axis *a, double v) {
    if (a->log)
        return (log10(v) - log10(a->t.lo)) / (log10(a->t.hi) - log10(a->t.lo));
    return (v - a->t.lo) / (a->t.hi - a->t.lo);
}

static double px(const frame *f, double u) { return f->left + u * PLOT_W; }
static double py(const frame *f, double v, double dy) { return dy + f->top + (1 - v) * PLOT_H; }

static void draw_grid_line(FILE *out, const frame *f, double dy, int vertical, double pos,
                           const char *colour) {
    if (vertical)
        fprintf(out, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\"/>\n",
                px(f, pos), py(f, 1, dy), px(f, pos), py(f, 0, dy), colour);
    else
        fprintf(out, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\"/>\n",
                px(f, 0), py(f, pos, dy), px(f, 1), py(f, pos, dy), colour);
}

/* The lighter lines at 2..9 times each power of ten on a log axis of up to six decades. */
static void draw_minor_grid(FILE *out, const frame *f, double dy) {
    const svg_ticks *t = &f->y.t;
    double e0 = floor(log10(t->lo)), e1 = ceil(log10(t->hi));
    if (e1 - e0 > 6)
        return;
    for (double e = e0; e <= e1; ++e)
        for (int m = 2; m <= 9; ++m) {
            double v = m * pow(10.0, e);
            if (v > t->lo && v < t->hi)
                draw_grid_line(out, f, dy, 0, axis_pos(&f->y, v), "#f0f0f0");
        }
}

static void draw_axes(FILE *out, const svg_panel *p, const frame *f, double dy) {
    fputs("<g class=\"grid\" stroke-width=\"1\">\n", out);
    if (f->y.log)
        draw_minor_grid(out, f, dy);
    for (size_t i = 0; i < f->x.t.n; ++i)
        draw_grid_line(out, f, dy, 1, axis_pos(&f->x, f->x.t.value[i]), "#e0e0e0");
    for (size_t i = 0; i < f->y.t.n; ++i)
        draw_grid_line(out, f, dy, 0, axis_pos(&f->y, f->y.t.value[i]), "#e0e0e0");
    fputs("</g>\n", out);
    fprintf(out,
            "<rect class=\"plot-area\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
            "fill=\"none\" stroke=\"#555555\" stroke-width=\"1\"/>\n",
            f->left, py(f, 1, dy), PLOT_W, PLOT_H);
    fprintf(out, "<g class=\"xticks\" font-size=\"%g\" text-anchor=\"middle\" fill=\"#333333\">\n",
            FONT_TICK);
    for (size_t i = 0; i < f->x.t.n; ++i)
        fprintf(out, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n",
                px(f, axis_pos(&f->x, f->x.t.value[i])), py(f, 0, dy) + 8 + FONT_TICK,
                f->x.label[i]);
    fprintf(out,
            "</g>\n<g class=\"yticks\" font-size=\"%g\" text-anchor=\"end\" fill=\"#333333\">\n",
            FONT_TICK);
    for (size_t i = 0; i < f->y.t.n; ++i)
        fprintf(out, "<text x=\"%.2f\" y=\"%.2f\" dy=\"0.35em\">%s</text>\n", f->left - 8,
                py(f, axis_pos(&f->y, f->y.t.value[i]), dy), f->y.label[i]);
    fputs("</g>\n", out);
    if (has_text(p->xlabel)) {
        fprintf(out,
                "<text class=\"xlabel\" x=\"%.2f\" y=\"%.2f\" font-size=\"%g\" "
                "text-anchor=\"middle\">",
                px(f, 0.5), py(f, 0, dy) + 16 + FONT_TICK + FONT_LABEL, FONT_LABEL);
        put_text(out, p->xlabel);
        fputs("</text>\n", out);
    }
    if (has_text(p->ylabel)) {
        double x = f->x0 + 12 + FONT_LABEL, y = py(f, 0.5, dy);
        fprintf(out,
                "<text class=\"ylabel\" x=\"%.2f\" y=\"%.2f\" font-size=\"%g\" "
                "text-anchor=\"middle\" transform=\"rotate(-90 %.2f %.2f)\">",
                x, y, FONT_LABEL, x, y);
        put_text(out, p->ylabel);
        fputs("</text>\n", out);
    }
    if (has_text(p->title)) {
        fprintf(out,
                "<text class=\"panel-title\" x=\"%.2f\" y=\"%.2f\" font-size=\"%g\" "
                "font-weight=\"bold\" text-anchor=\"middle\">",
                px(f, 0.5), dy + f->top - 14, FONT_TITLE);
        put_text(out, p->title);
        fputs("</text>\n", out);
    }
}

/* Liang-Barsky: clip the segment (u0,v0)-(u1,v1) to the unit square. Returns 0 when nothing is
 * left; else the ends are moved in, and *cut0, *cut1 say whether each moved. */
static int clip(double *u0, double *v0, double *u1, double *v1, int *cut0, int *cut1) {
    double du = *u1 - *u0, dv = *v1 - *v0, t0 = 0, t1 = 1;
    const double p[4] = {-du, du, -dv, dv}, q[4] = {*u0, 1 - *u0, *v0, 1 - *v0};
    for (int i = 0; i < 4; ++i) {
        if (p[i] == 0) {
            if (q[i] < 0)
                return 0;
            continue;
        }
        double r = q[i] / p[i];
        if (p[i] < 0 && r > t0)
            t0 = r;
        else if (p[i] > 0 && r < t1)
            t1 = r;
        if (t0 > t1)
            return 0;
    }
    double a = *u0, b = *v0;
    *u0 = a + t0 * du;
    *v0 = b + t0 * dv;
    *u1 = a + t1 * du;
    *v1 = b + t1 * dv;
    *cut0 = t0 > 0;
    *cut1 = t1 < 1;
    return 1;
}

static int inside(double u, double v) { return u >= 0 && u <= 1 && v >= 0 && v <= 1; }

/* The piece of line being built, in axis units (0..1). */
typedef struct piece {
    double *u, *v;
    size_t n;
    int dots; /* a lone point is drawn as a dot (unless markers show it) */
} piece;

static void flush(FILE *out, const frame *f, double dy, piece *pc) {
    if (pc->n == 1 && pc->dots)
        fprintf(
            out,
            "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" stroke=\"none\" fill=\"currentColor\"/>\n",
            px(f, pc->u[0]), py(f, pc->v[0], dy));
    if (pc->n >= 2) {
        fputs("<polyline points=\"", out);
        for (size_t i = 0; i < pc->n; ++i)
            fprintf(out, "%s%.2f,%.2f", i ? " " : "", px(f, pc->u[i]), py(f, pc->v[i], dy));
        fputs("\"/>\n", out);
    }
    pc->n = 0;
}

static void push(piece *pc, double u, double v) {
    pc->u[pc->n] = u;
    pc->v[pc->n] = v;
    ++pc->n;
}

/* Extend the line from the previous drawn point (pu, pv) to (u, v), clipped to the plot. */
static void extend(FILE *out, const frame *f, double dy, piece *pc, double pu, double pv, double u,
                   double v) {
    int cut0, cut1;
    if (!clip(&pu, &pv, &u, &v, &cut0, &cut1)) {
        flush(out, f, dy, pc);
        return;
    }
    if (cut0 || pc->n == 0) {
        flush(out, f, dy, pc);
        push(pc, pu, pv);
    }
    push(pc, u, v);
    if (cut1)
        flush(out, f, dy, pc);
}

static const char *dash_for(const svg_series *s, size_t index) {
    int dotted = index >= sizeof palette / sizeof palette[0];
    if (s->dashed && dotted)
        return "7,3,2,3";
    return s->dashed ? "7,4" : dotted ? "2,3" : NULL;
}

static void series_style(FILE *out, const svg_series *s, size_t index) {
    const char *colour = palette[index % (sizeof palette / sizeof palette[0])];
    const char *dash = dash_for(s, index);
    fprintf(out,
            "fill=\"none\" stroke=\"%s\" color=\"%s\" stroke-width=\"2\" "
            "stroke-linejoin=\"round\" stroke-linecap=\"round\"",
            colour, colour);
    if (dash)
        fprintf(out, " stroke-dasharray=\"%s\"", dash);
}

static void draw_markers(FILE *out, const svg_panel *p, const frame *f, double dy,
                         const svg_series *s) {
    for (size_t i = 0; i < s->n; ++i) {
        if (!point_ok(p, s->x[i], s->y[i]))
            continue;
        double u = axis_pos(&f->x, s->x[i]), v = axis_pos(&f->y, s->y[i]);
        if (inside(u, v))
            fprintf(out,
                    "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"currentColor\" "
                    "stroke=\"#ffffff\" stroke-width=\"1\" stroke-dasharray=\"none\"/>\n",
                    px(f, u), py(f, v, dy));
    }
}

static int draw_series(FILE *out, const svg_panel *p, const frame *f, double dy, size_t index) {
    const svg_series *s = &p->series[index];
    piece pc = {malloc((s->n + 1) * sizeof(double)), malloc((s->n + 1) * sizeof(double)), 0,
                !s->markers};
    if (!pc.u || !pc.v) {
        free(pc.u);
        free(pc.v);
        return -1;
    }
    fputs("<g class=\"series\" ", out);
    series_style(out, s, index);
    fputs(">\n<title>", out);
    put_text(out, s->name);
    fputs("</title>\n", out);
    double pu = 0, pv = 0;
    int prev = 0;
    for (size_t i = 0; i < s->n; ++i) {
        double u = axis_pos(&f->x, s->x[i]), v = axis_pos(&f->y, s->y[i]);
        if (!point_ok(p, s->x[i], s->y[i]) || !isfinite(u) || !isfinite(v)) {
            flush(out, f, dy, &pc);
            prev = 0;
            continue;
        }
        if (prev) {
            extend(out, f, dy, &pc, pu, pv, u, v);
        } else {
            flush(out, f, dy, &pc);
            if (inside(u, v))
                push(&pc, u, v);
        }
        pu = u;
        pv = v;
        prev = 1;
    }
    flush(out, f, dy, &pc);
    if (s->markers)
        draw_markers(out, p, f, dy, s);
    fputs("</g>\n", out);
    free(pc.u);
    free(pc.v);
    return 0;
}

static void draw_legend(FILE *out, const svg_panel *p, const frame *f, double dy) {
    size_t rows = legend_entries(p);
    if (!rows)
        return;
    double x = f->legend_x, y = dy + f->top;
    fprintf(out,
            "<g class=\"legend\" font-size=\"%g\">\n<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
            "height=\"%.2f\" rx=\"3\" fill=\"#ffffff\" stroke=\"#cccccc\"/>\n",
            FONT_LEGEND, x, y, f->legend_w, (double)rows * LEGEND_ROW + 8);
    size_t row = 0;
    for (size_t s = 0; s < p->nseries; ++s) {
        const svg_series *se = &p->series[s];
        if (!has_text(se->name))
            continue;
        double ly = y + 4 + LEGEND_ROW * ((double)row++ + 0.5);
        fputs("<g ", out);
        series_style(out, se, s);
        fprintf(out, ">\n<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", x + 8, ly,
                x + 32, ly);
        if (se->markers)
            fprintf(out,
                    "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"currentColor\" "
                    "stroke=\"#ffffff\" stroke-width=\"1\" stroke-dasharray=\"none\"/>\n",
                    x + 20, ly);
        fprintf(out, "</g>\n<text x=\"%.2f\" y=\"%.2f\" fill=\"#222222\">", x + 38,
                ly + FONT_LEGEND * 0.35);
        put_text(out, se->name);
        fputs("</text>\n", out);
    }
    fputs("</g>\n", out);
}

static int check_panels(const svg_panel *panels, size_t npanels, char *err, size_t errlen) {
    if (!panels || npanels == 0)
        return fail(err, errlen, "a figure needs at least one panel");
    for (size_t k = 0; k < npanels; ++k) {
        const svg_panel *p = &panels[k];
        if (p->nseries && !p->series)
            return fail(err, errlen, "panel %zu: %zu series but no series array", k + 1,
                        p->nseries);
        for (size_t s = 0; s < p->nseries; ++s)
            if (p->series[s].n && (!p->series[s].x || !p->series[s].y))
                return fail(err, errlen, "panel %zu, series %zu (%s): %zu points but no %s array",
                            k + 1, s + 1, p->series[s].name ? p->series[s].name : "unnamed",
                            p->series[s].n, p->series[s].x ? "y" : "x");
        if ((fixed_range(p->x_min, p->x_max) && !(isfinite(p->x_min) && isfinite(p->x_max))) ||
            (fixed_range(p->y_min, p->y_max) && !(isfinite(p->y_min) && isfinite(p->y_max))))
            return fail(err, errlen, "panel %zu: a fixed axis range must be finite", k + 1);
        if (p->log_y && fixed_range(p->y_min, p->y_max) && p->y_min <= 0)
            return fail(err, errlen, "panel %zu: a log-scale y range must be positive (%g to %g)",
                        k + 1, p->y_min, p->y_max);
    }
    return 0;
}

static int write_svg(FILE *out, const char *title, const svg_panel *panels, size_t npanels,
                     const frame *frames) {
    double width = 0, height = 0, dy = has_text(title) ? FIG_TITLE_H : 0;
    for (size_t k = 0; k < npanels; ++k) {
        width += frames[k].width;
        height = fmax(height, frames[k].height);
    }
    height += dy;
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
            ceil(width), ceil(height), ceil(width), ceil(height));
    if (has_text(title)) {
        fprintf(out,
                "<text class=\"title\" x=\"%.2f\" y=\"%.2f\" font-size=\"%g\" "
                "font-weight=\"bold\" text-anchor=\"middle\">",
                width / 2, FIG_TITLE_H - 10, FONT_FIGURE);
        put_text(out, title);
        fputs("</text>\n", out);
    }
    for (size_t k = 0; k < npanels; ++k) {
        fputs("<g class=\"panel\">\n", out);
        draw_axes(out, &panels[k], &frames[k], dy);
        for (size_t s = 0; s < panels[k].nseries; ++s)
            if (draw_series(out, &panels[k], &frames[k], dy, s))
                return -1;
        draw_legend(out, &panels[k], &frames[k], dy);
        fputs("</g>\n", out);
    }
    fputs("</svg>\n", out);
    return 0;
}

/* What svg_write_figure hands clact_file_write (host/npy.c: links followed and kept, FIFOs and
 * devices written through, regular files replaced atomically). */
typedef struct figure {
    const char *title;
    const svg_panel *panels;
    size_t npanels;
    const frame *frames;
} figure;

static int produce_figure(FILE *out, void *arg) {
    const figure *g = arg;
    return write_svg(out, g->title, g->panels, g->npanels, g->frames);
}

int svg_write_figure(const char *path, const char *title, const svg_panel *panels, size_t npanels,
                     char *err, size_t errlen) {
    if (check_panels(panels, npanels, err, errlen))
        return -1;
    frame *frames = calloc(npanels, sizeof *frames);
    if (!frames)
        return fail(err, errlen, "cannot write %s: out of memory", path);
    double x0 = 0;
    for (size_t k = 0; k < npanels; ++k) {
        layout_panel(&panels[k], x0, &frames[k]);
        x0 += frames[k].width;
    }
    figure g = {title, panels, npanels, frames};
    int st = clact_file_write(path, produce_figure, &g, err, errlen) == CLACT_OK ? 0 : -1;
    free(frames);
    return st;
}

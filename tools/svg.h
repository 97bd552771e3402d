/* SPDX-License-Identifier: MIT */
/* Line charts as SVG files for the clact command (training curves, activation curves): a figure
 * of one or more panels side by side, each a line chart with a title, labelled axes with nice
 * tick values, grid lines, optional log-scale y, and named series in distinct colours with a
 * legend. No dependencies; the output is plain SVG 1.1 that any browser shows. CLI support
 * code, not library API. */
#ifndef CLACT_TOOLS_SVG_H
#define CLACT_TOOLS_SVG_H
#include <stddef.h>

typedef struct svg_series {
    const char *name;    /* legend text (UTF-8); NULL or "" keeps the series out of the legend */
    const double *x, *y; /* n points, in order of drawing */
    size_t n;            /* 0 is allowed: nothing is drawn, the legend still names it */
    int markers;         /* non-zero: a dot at each point (for few points, e.g. per epoch) */
    int dashed;          /* non-zero: a dashed line (e.g. test beside train in one colour) */
} svg_series;

typedef struct svg_panel {
    const char *title, *xlabel, *ylabel; /* each may be NULL; units go in the label */
    int log_y;                           /* non-zero: log10 scale for y */
    const svg_series *series;
    size_t nseries;
    /* Fixed axis ranges, used where min < max; otherwise (e.g. both 0) the range is the data's,
     * widened to nice tick values. Lines are clipped to a fixed range. */
    double x_min, x_max, y_min, y_max;
    int no_legend; /* non-zero: no legend (e.g. beside a panel whose legend names the same
                    * series in the same order, so in the same colours) */
} svg_panel;

/* Write a figure of npanels panels side by side, with an optional title over them, to path:
 * through a temporary file in the same directory renamed into place, so path is either the
 * whole new figure or untouched, and nothing else is left behind on error; a symbolic link at
 * path is followed and kept, an existing FIFO or device written through (clact_file_write).
 * Series take colours from a fixed palette (Tableau 10) by their index in the panel; past ten,
 * the colours repeat dotted. Points with a non-finite x or y, or y <= 0 on a log scale, are not
 * drawn and break the line; a point between two breaks is drawn as a dot. Text is escaped for
 * XML (control characters other than tab and newline become U+FFFD).
 * Returns 0, or -1 with a one-line message in err (err may be NULL): no panels, a series with
 * points but no x or y array, a log-scale fixed range that is not positive, or an I/O error. */
int svg_write_figure(const char *path, const char *title, const svg_panel *panels, size_t npanels,
                     char *err, size_t errlen);

#define SVG_MAX_TICKS 32
/* An axis: its range and its labelled tick values, in increasing order. */
typedef struct svg_ticks {
    double lo, hi;
    size_t n;
    double value[SVG_MAX_TICKS];
} svg_ticks;

/* The axis svg_write_figure draws for data from lo to hi (finite, lo <= hi; for a log scale,
 * positive). Linear: ticks at multiples of a step of 1, 2 or 5 times a power of ten, about six
 * of them; with fixed zero the range widens to the ticks around the data (a single value widens
 * by 10% of its size each way, 0 to [-1, 1]), with fixed non-zero it is exactly [lo, hi] with
 * the ticks inside. Log: ticks at powers of ten (every k-th one over many decades; with 1, 2
 * and 5 times them when the range spans one decade); with fixed zero the range widens to whole
 * decades. */
void svg_nice_ticks(double lo, double hi, int log_scale, int fixed, svg_ticks *t);
#endif

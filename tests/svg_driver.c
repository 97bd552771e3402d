/* SPDX-License-Identifier: MIT */
/* Writes a figure described on stdin with svg_write_figure, for tests/svg_chart.py.
 * Usage: svg_driver OUT.svg < SPEC. SPEC lines, fields separated by tabs:
 *   title TEXT                                   the figure's title (optional)
 *   panel TITLE XLABEL YLABEL LOG_Y [XMIN XMAX YMIN YMAX]
 *   nolegend                                     the last panel has no legend
 *   series NAME MARKERS DASHED                   a series of the last panel
 *   X Y                                          a point of the last series (strtod: nan, inf)
 * Exits 0, or 1 with svg_write_figure's message on stderr. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

enum { MAX_PANELS = 8, MAX_SERIES = 64 };

typedef struct points {
    double *x, *y;
    size_t n, cap;
} points;

static svg_panel panels[MAX_PANELS];
static svg_series series[MAX_PANELS][MAX_SERIES];
static points data[MAX_PANELS][MAX_SERIES];

/* The tab-separated fields of line (modified in place); returns how many. */
static int split(char *line, char **fields, int max) {
    int n = 0;
    for (char *p = line; n < max;) {
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static void add_point(points *d, double x, double y) {
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->x = realloc(d->x, d->cap * sizeof *d->x);
        d->y = realloc(d->y, d->cap * sizeof *d->y);
        if (!d->x || !d->y) {
            fprintf(stderr, "svg_driver: out of memory\n");
            exit(1);
        }
    }
    d->x[d->n] = x;
    d->y[d->n++] = y;
}

static char *dup(const char *s) {
    char *d = malloc(strlen(s) + 1);
    if (!d)
        exit(1);
    return strcpy(d, s);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: svg_driver OUT.svg < SPEC\n");
        return 2;
    }
    char line[4096], *title = NULL, *f[9];
    int np = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        int nf = split(line, f, 9);
        svg_panel *p = np ? &panels[np - 1] : NULL;
        if (!strncmp(f[0], "title ", 6)) {
            free(title);
            title = dup(f[0] + 6);
        } else if (!strncmp(f[0], "panel ", 6) && nf >= 4 && np < MAX_PANELS) {
            p = &panels[np];
            p->title = dup(f[0] + 6);
            p->xlabel = dup(f[1]);
            p->ylabel = dup(f[2]);
            p->log_y = atoi(f[3]);
            if (nf == 8) {
                p->x_min = strtod(f[4], NULL);
                p->x_max = strtod(f[5], NULL);
                p->y_min = strtod(f[6], NULL);
                p->y_max = strtod(f[7], NULL);
            }
            p->series = series[np++];
        } else if (!strcmp(f[0], "nolegend") && p) {
            p->no_legend = 1;
        } else if (!strncmp(f[0], "series ", 7) && nf == 3 && p && p->nseries < MAX_SERIES) {
            svg_series *s = &series[np - 1][p->nseries++];
            s->name = dup(f[0] + 7);
            s->markers = atoi(f[1]);
            s->dashed = atoi(f[2]);
        } else if (p && p->nseries) {
            char *end;
            double x = strtod(f[0], &end), y = strtod(end, NULL);
            add_point(&data[np - 1][p->nseries - 1], x, y);
        }
    }
    for (int k = 0; k < np; ++k)
        for (size_t s = 0; s < panels[k].nseries; ++s) {
            series[k][s].x = data[k][s].x;
            series[k][s].y = data[k][s].y;
            series[k][s].n = data[k][s].n;
        }
    char err[512];
    int st = svg_write_figure(argv[1], title, panels, (size_t)np, err, sizeof err);
    if (st)
        fprintf(stderr, "svg_driver: %s\n", err);
    free(title);
    for (int k = 0; k < np; ++k) {
        free((char *)panels[k].title);
        free((char *)panels[k].xlabel);
        free((char *)panels[k].ylabel);
        for (size_t s = 0; s < panels[k].nseries; ++s) {
            free((char *)series[k][s].name);
            free(data[k][s].x);
            free(data[k][s].y);
        }
    }
    return st ? 1 : 0;
}

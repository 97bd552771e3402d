/* SPDX-License-Identifier: MIT */
/* What the libFuzzer targets share: an anonymous in-memory file to hand a reader a path, a
 * private temporary folder, and the one-line check on messages. */
#ifndef CLACT_FUZZ_UTIL_H
#define CLACT_FUZZ_UTIL_H
#include <stddef.h>

/* The disk cache key whose entry fuzz_cache_entry reads (cache_seed writes its seeds). */
#define FUZZ_CACHE_KEY "clact fuzz entry: program=activation dtype=f32 device=fuzz"

/* An in-memory file (memfd) made once per process; its path, /proc/self/fd/N, into path. */
int fuzz_memfd(const char *name, char *path, size_t len);
/* Make fd's content exactly the n bytes at data (truncated first, offset left at 0). */
void fuzz_memfd_fill(int fd, const void *data, size_t n);
/* A private folder under TMPDIR (or /tmp), made once per process and removed at exit with
 * what was left in it (one level: the targets write only plain files there). */
const char *fuzz_tmpdir(void);
/* Abort with what, why and the text unless text is one line: non-empty, no control byte
 * (below 0x20, or 0x7f) and no line break. For the readers' err strings. */
void fuzz_check_one_line(const char *what, const char *text);
/* Print the message (printf-style) on the process's real stderr and abort(): a finding. */
_Noreturn void fuzz_die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Where fuzz_die writes: stderr, unless a target moved fd 2 elsewhere and saved the original. */
extern int fuzz_report_fd;
#endif

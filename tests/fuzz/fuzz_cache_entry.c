/* SPDX-License-Identifier: MIT */
/* The disk cache's entry reader (host/disk_cache.c, compiled into this target since its
 * functions are internal to the library) on arbitrary bytes put where the entry for a fixed key
 * lives. A hit must hand back exactly the payload that was sealed: the input must then be a
 * whole entry for that key (magic, format, key, lengths, checksum, as checked here with an
 * FNV-1a written independently), and writing that payload again must give the same file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk_cache.h"
#include "fuzz_util.h"

static const char key[] = FUZZ_CACHE_KEY;
enum { HEADER = 32 };

static char entry_path[4200];

static uint64_t le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
        v = v << 8 | p[i];
    return v;
}

static uint64_t fnv(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void write_entry(const uint8_t *data, size_t size) {
    FILE *f = fopen(entry_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        fuzz_die("cannot write %s", entry_path);
}

/* Is data a sealed entry for key whose payload is the last len bytes? */
static int sealed(const uint8_t *data, size_t size, size_t len) {
    size_t klen = strlen(key);
    return size == HEADER + klen + len && len > 0 && !memcmp(data, "CLACTBIN", 8) &&
           le(data + 8, 4) == 1 && le(data + 12, 4) == klen && le(data + 16, 8) == len &&
           !memcmp(data + HEADER, key, klen) && fnv(data + HEADER, klen + len) == le(data + 24, 8);
}

static void check_hit(const uint8_t *data, size_t size, const unsigned char *payload, size_t len) {
    const char *dir = fuzz_tmpdir();
    if (!payload || !sealed(data, size, len) || memcmp(payload, data + size - len, len))
        fuzz_die("a hit of %zu bytes from a %zu-byte file that is not that payload sealed", len,
                 size);
    /* The writer seals the same payload into the same bytes. */
    if (!clact__disk_write(dir, key, ".clbin", payload, len))
        fuzz_die("clact__disk_write failed in %s", dir);
    FILE *f = fopen(entry_path, "rb");
    unsigned char *again = malloc(size + 1);
    size_t got = f && again ? fread(again, 1, size + 1, f) : 0;
    if (f)
        fclose(f);
    if (got != size || memcmp(again, data, size))
        fuzz_die("rewriting the payload gave another file (%zu bytes, not %zu)", got, size);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *dir = fuzz_tmpdir();
    if (!entry_path[0] && !clact__disk_path(dir, key, ".clbin", entry_path, sizeof entry_path))
        fuzz_die("no entry path in %s", dir);
    write_entry(data, size);
    unsigned char *payload = (unsigned char *)"poison";
    size_t len = 12345;
    clact__disk_result r = clact__disk_read(dir, key, ".clbin", &payload, &len);
    if (r == CLACT__DISK_HIT) {
        check_hit(data, size, payload, len);
        free(payload);
    } else if (r == CLACT__DISK_REJECTED || r == CLACT__DISK_MISS) {
        if (payload || len)
            fuzz_die("a %s left a payload (%p, %zu bytes)",
                     r == CLACT__DISK_MISS ? "miss" : "rejection", (void *)payload, len);
        if (sealed(data, size, size >= HEADER + strlen(key) ? size - HEADER - strlen(key) : 0))
            fuzz_die("a sealed entry of %zu bytes was not a hit", size);
    } else {
        fuzz_die("clact__disk_read returned %d for an existing file", (int)r);
    }
    return 0;
}

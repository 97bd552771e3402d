/* SPDX-License-Identifier: MIT */
/* Writes a disk cache entry for fuzz_cache_entry's key through clact__disk_write, for the seed
 * corpus (make_corpus.py): cache_seed OUT_FILE PAYLOAD_BYTES. The payload is bytes 0, 1, 2, ...
 * (mod 251). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "disk_cache.h"
#include "fuzz_util.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: cache_seed OUT_FILE PAYLOAD_BYTES\n");
        return 2;
    }
    size_t len = strtoul(argv[2], NULL, 10);
    unsigned char *payload = malloc(len ? len : 1);
    char dir[] = "/tmp/clact-cache-seed-XXXXXX", path[4200];
    if (!payload || !mkdtemp(dir))
        return 1;
    for (size_t i = 0; i < len; ++i)
        payload[i] = (unsigned char)(i % 251);
    int ok = clact__disk_write(dir, FUZZ_CACHE_KEY, ".clbin", payload, len) &&
             clact__disk_path(dir, FUZZ_CACHE_KEY, ".clbin", path, sizeof path) &&
             rename(path, argv[1]) == 0;
    rmdir(dir);
    free(payload);
    if (!ok)
        fprintf(stderr, "cache_seed: could not write %s\n", argv[1]);
    return ok ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
#ifndef CLACT_HOST_DEVICE_H
#define CLACT_HOST_DEVICE_H
#include "internal.h"

typedef struct clact__device_entry {
    cl_platform_id platform;
    cl_device_id device;
    unsigned platform_index, device_index;
    cl_device_type type;
    char name[128];
} clact__device_entry;

/* Every device of every platform, in (platform, device) index order; free() the list. No
 * platform at all gives an empty list and CLACT_OK. */
clact_status clact__device_enumerate(clact__device_entry **entries, size_t *count);
/* Apply the device spec (NULL: CLACT_DEVICE, then best) to a list; detail goes to the thread. */
clact_status clact__device_find(const char *spec, const clact__device_entry *entries, size_t count,
                                size_t *index);
/* Whether device lists extension name (*found), and the query's CL error. */
cl_int clact__device_extension(cl_device_id device, const char *name, int *found);
/* "device NAME\nvendor V\ndriver D\nplatform P\n" (each truncated to 255 characters): what a
 * persistent cache entry for this device is keyed by (disk cache, tuning results); out needs
 * CLACT__IDENTITY_LEN. The CL error of a failed query, naming it in *what ("" in out). */
cl_int clact__device_identity(cl_device_id device, cl_platform_id platform, char *out, size_t len,
                              const char **what);

#endif

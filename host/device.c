/* SPDX-License-Identifier: MIT */
/* Device enumeration and the device spec: "gpu", "cpu", "accelerator", "P:D", or a
 * case-insensitive substring of the device name. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

/* A device's or platform's string property into out (truncated to len): the size first, so that
 * a string longer than out is truncated rather than refused (a short buffer makes the query fail
 * with CL_INVALID_VALUE). Returns the query's CL error, with out "" on failure. */
static cl_int info_string(cl_device_id d, cl_device_info what, char *out, size_t len) {
    size_t size = 0;
    out[0] = '\0';
    cl_int err = clGetDeviceInfo(d, what, 0, NULL, &size);
    char *tmp = err == CL_SUCCESS ? malloc(size + 1) : NULL;
    if (err == CL_SUCCESS && !tmp)
        err = CL_OUT_OF_HOST_MEMORY;
    if (err == CL_SUCCESS && (err = clGetDeviceInfo(d, what, size, tmp, NULL)) == CL_SUCCESS) {
        tmp[size] = '\0';
        snprintf(out, len, "%s", tmp);
    }
    free(tmp);
    return err;
}

static cl_int platform_string(cl_platform_id p, cl_platform_info what, char *out, size_t len) {
    size_t size = 0;
    out[0] = '\0';
    cl_int err = clGetPlatformInfo(p, what, 0, NULL, &size);
    char *tmp = err == CL_SUCCESS ? malloc(size + 1) : NULL;
    if (err == CL_SUCCESS && !tmp)
        err = CL_OUT_OF_HOST_MEMORY;
    if (err == CL_SUCCESS && (err = clGetPlatformInfo(p, what, size, tmp, NULL)) == CL_SUCCESS) {
        tmp[size] = '\0';
        snprintf(out, len, "%s", tmp);
    }
    free(tmp);
    return err;
}

clact_status clact__device_enumerate(clact__device_entry **entries, size_t *count) {
    *entries = NULL;
    *count = 0;
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    /* The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR when no platform is installed: that is
     * an empty list, not a failure. */
    if (err == CL_PLATFORM_NOT_FOUND_KHR)
        return CLACT_OK;
    if (err != CL_SUCCESS)
        return clact__fail_cl(NULL, err, "clGetPlatformIDs");
    if (np == 0)
        return CLACT_OK;
    cl_platform_id *platforms = calloc(np, sizeof *platforms);
    if (!platforms)
        return clact__fail(NULL, CLACT_OUT_OF_MEMORY, "out of host memory listing platforms");
    err = clGetPlatformIDs(np, platforms, NULL);
    if (err != CL_SUCCESS) {
        free(platforms);
        return clact__fail_cl(NULL, err, "clGetPlatformIDs");
    }
    clact__device_entry *list = NULL;
    size_t n = 0;
    clact_status status = CLACT_OK;
    for (cl_uint p = 0; p < np && status == CLACT_OK; ++p) {
        cl_uint nd = 0;
        err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
        /* The error first: a failing call may leave nd at 0, and that is a failure to name, not
         * a platform without devices. */
        if (err == CL_DEVICE_NOT_FOUND)
            continue;
        if (err != CL_SUCCESS) {
            status = clact__fail_cl(NULL, err, "clGetDeviceIDs");
            break;
        }
        if (nd == 0)
            continue;
        cl_device_id *devices = calloc(nd, sizeof *devices);
        clact__device_entry *grown = realloc(list, (n + nd) * sizeof *list);
        if (!devices || !grown) {
            free(devices);
            if (grown)
                list = grown;
            status = clact__fail(NULL, CLACT_OUT_OF_MEMORY, "out of host memory listing devices");
            break;
        }
        list = grown;
        err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, nd, devices, NULL);
        if (err != CL_SUCCESS) {
            free(devices);
            status = clact__fail_cl(NULL, err, "clGetDeviceIDs");
            break;
        }
        for (cl_uint d = 0; d < nd && status == CLACT_OK; ++d) {
            clact__device_entry *e = &list[n++];
            e->platform = platforms[p];
            e->device = devices[d];
            e->platform_index = p;
            e->device_index = d;
            e->type = 0;
            if ((err = clGetDeviceInfo(devices[d], CL_DEVICE_TYPE, sizeof e->type, &e->type,
                                       NULL)) != CL_SUCCESS)
                status = clact__fail_cl(NULL, err, "clGetDeviceInfo(CL_DEVICE_TYPE)");
            else if ((err = info_string(devices[d], CL_DEVICE_NAME, e->name, sizeof e->name)) !=
                     CL_SUCCESS)
                status = clact__fail_cl(NULL, err, "clGetDeviceInfo(CL_DEVICE_NAME)");
        }
        free(devices);
    }
    free(platforms);
    if (status != CLACT_OK) {
        free(list);
        return status;
    }
    *entries = list;
    *count = n;
    return CLACT_OK;
}

static int contains_nocase(const char *hay, const char *needle) {
    size_t hn = strlen(hay), nn = strlen(needle);
    for (size_t i = 0; nn <= hn && i <= hn - nn; ++i) {
        size_t k = 0;
        while (k < nn && tolower((unsigned char)hay[i + k]) == tolower((unsigned char)needle[k]))
            ++k;
        if (k == nn)
            return 1;
    }
    return 0;
}

static int first_of_type(const clact__device_entry *e, size_t n, cl_device_type type) {
    for (size_t i = 0; i < n; ++i)
        if (e[i].type & type)
            return (int)i;
    return -1;
}

static int parse_index_pair(const char *s, unsigned *p, unsigned *d) {
    char *end;
    if (!isdigit((unsigned char)s[0]))
        return 0;
    unsigned long a = strtoul(s, &end, 10);
    if (*end != ':' || !isdigit((unsigned char)end[1]))
        return 0;
    unsigned long b = strtoul(end + 1, &end, 10);
    if (*end != '\0' || a > 1000000 || b > 1000000)
        return 0;
    *p = (unsigned)a;
    *d = (unsigned)b;
    return 1;
}

static void list_available(char *out, size_t len, const clact__device_entry *e, size_t n) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used + 1 < len; ++i) {
        int w = snprintf(out + used, len - used, "%s%u:%u %s", i ? ", " : "", e[i].platform_index,
                         e[i].device_index, e[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

clact_status clact__device_find(const char *spec, const clact__device_entry *e, size_t n,
                                size_t *index) {
    const char *origin = "device spec";
    if (!spec || !spec[0]) {
        spec = getenv("CLACT_DEVICE");
        origin = "CLACT_DEVICE";
    }
    if (n == 0)
        return clact__fail(NULL, CLACT_NO_DEVICE,
                           "no OpenCL platform or device found (install an OpenCL driver, e.g. "
                           "Debian's pocl-opencl-icd for the CPU)");
    int found = -1;
    if (!spec || !spec[0]) {
        found = first_of_type(e, n, CL_DEVICE_TYPE_GPU);
        if (found < 0)
            found = first_of_type(e, n, CL_DEVICE_TYPE_ACCELERATOR);
        if (found < 0)
            found = first_of_type(e, n, CL_DEVICE_TYPE_CPU);
        if (found < 0)
            found = 0;
    } else if (!strcmp(spec, "gpu") || !strcmp(spec, "GPU")) {
        found = first_of_type(e, n, CL_DEVICE_TYPE_GPU);
    } else if (!strcmp(spec, "cpu") || !strcmp(spec, "CPU")) {
        found = first_of_type(e, n, CL_DEVICE_TYPE_CPU);
    } else if (!strcmp(spec, "accelerator")) {
        found = first_of_type(e, n, CL_DEVICE_TYPE_ACCELERATOR);
    } else {
        unsigned p, d;
        if (parse_index_pair(spec, &p, &d)) {
            for (size_t i = 0; i < n; ++i)
                if (e[i].platform_index == p && e[i].device_index == d)
                    found = (int)i;
        } else {
            for (size_t i = 0; i < n && found < 0; ++i)
                if (contains_nocase(e[i].name, spec))
                    found = (int)i;
        }
    }
    if (found < 0) {
        char avail[2048];
        list_available(avail, sizeof avail, e, n);
        return clact__fail(NULL, CLACT_NO_DEVICE,
                           "%s '%s' matches no OpenCL device (available: %s)", origin, spec, avail);
    }
    *index = (size_t)found;
    return CLACT_OK;
}

clact_status clact_device_select(const char *spec, size_t *index) {
    clact__clear_error(NULL);
    if (!index)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "index is NULL");
    clact__device_entry *e;
    size_t n;
    clact_status status = clact__device_enumerate(&e, &n);
    if (status != CLACT_OK)
        return status;
    status = clact__device_find(spec, e, n, index);
    free(e);
    return status;
}

static const char *type_name(cl_device_type t) {
    if (t & CL_DEVICE_TYPE_GPU)
        return "gpu";
    if (t & CL_DEVICE_TYPE_CPU)
        return "cpu";
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    if (t & CL_DEVICE_TYPE_CUSTOM)
        return "custom";
    return "other";
}

clact_status clact_device_list(clact_device_info *list, size_t capacity, size_t *count) {
    clact__clear_error(NULL);
    if (!count)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "count is NULL");
    if (capacity > 0 && !list)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "list is NULL but capacity is %zu",
                           capacity);
    clact__device_entry *e;
    size_t n;
    clact_status status = clact__device_enumerate(&e, &n);
    if (status != CLACT_OK)
        return status;
    /* Every query is checked: a failed one fails the listing (naming the query and its error)
     * rather than leaving a blank row. Nothing is written to list unless all succeed. */
    size_t filled = n < capacity ? n : capacity;
    clact_device_info *tmp = filled ? calloc(filled, sizeof *tmp) : NULL;
    if (filled && !tmp) {
        free(e);
        return clact__fail(NULL, CLACT_OUT_OF_MEMORY, "out of host memory listing devices");
    }
    for (size_t i = 0; i < filled && status == CLACT_OK; ++i) {
        clact_device_info *o = &tmp[i];
        o->platform_index = e[i].platform_index;
        o->device_index = e[i].device_index;
        memcpy(o->name, e[i].name, sizeof o->name);
        snprintf(o->type, sizeof o->type, "%s", type_name(e[i].type));
        cl_uint cu = 0;
        cl_ulong mem = 0, alloc = 0;
        const char *what = NULL;
        cl_int err;
        if ((err = platform_string(e[i].platform, CL_PLATFORM_NAME, o->platform_name,
                                   sizeof o->platform_name)))
            what = "clGetPlatformInfo(CL_PLATFORM_NAME)";
        else if ((err = platform_string(e[i].platform, CL_PLATFORM_VERSION, o->platform_version,
                                        sizeof o->platform_version)))
            what = "clGetPlatformInfo(CL_PLATFORM_VERSION)";
        else if ((err = info_string(e[i].device, CL_DEVICE_VENDOR, o->vendor, sizeof o->vendor)))
            what = "clGetDeviceInfo(CL_DEVICE_VENDOR)";
        else if ((err = info_string(e[i].device, CL_DRIVER_VERSION, o->driver_version,
                                    sizeof o->driver_version)))
            what = "clGetDeviceInfo(CL_DRIVER_VERSION)";
        else if ((err = clGetDeviceInfo(e[i].device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu,
                                        NULL)))
            what = "clGetDeviceInfo(CL_DEVICE_MAX_COMPUTE_UNITS)";
        else if ((err = clGetDeviceInfo(e[i].device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem,
                                        NULL)))
            what = "clGetDeviceInfo(CL_DEVICE_GLOBAL_MEM_SIZE)";
        else if ((err = clGetDeviceInfo(e[i].device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc,
                                        &alloc, NULL)))
            what = "clGetDeviceInfo(CL_DEVICE_MAX_MEM_ALLOC_SIZE)";
        else if ((err = clact__device_extension(e[i].device, "cl_khr_fp16", &o->has_fp16)) ||
                 (err = clact__device_extension(e[i].device, "cl_khr_fp64", &o->has_fp64)))
            what = "clGetDeviceInfo(CL_DEVICE_EXTENSIONS)";
        if (what) {
            status = clact__fail_cl(NULL, err, what);
            break;
        }
        o->compute_units = cu;
        o->global_mem_bytes = mem;
        o->max_alloc_bytes = alloc;
    }
    if (status == CLACT_OK && filled)
        memcpy(list, tmp, filled * sizeof *tmp);
    free(tmp);
    if (status != CLACT_OK) {
        free(e);
        return status;
    }
    free(e);
    *count = n;
    return CLACT_OK;
}

cl_int clact__device_extension(cl_device_id device, const char *name, int *found) {
    size_t size = 0;
    *found = 0;
    cl_int err = clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &size);
    if (err != CL_SUCCESS || !size)
        return err;
    char *ext = malloc(size + 1);
    if (!ext)
        return CL_OUT_OF_HOST_MEMORY;
    if ((err = clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, size, ext, NULL)) == CL_SUCCESS) {
        ext[size] = '\0';
        size_t len = strlen(name);
        for (char *p = strstr(ext, name); p && !*found; p = strstr(p + 1, name))
            *found = (p == ext || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0');
    }
    free(ext);
    return err;
}

cl_int clact__device_identity(cl_device_id device, cl_platform_id platform, char *out, size_t len,
                              const char **what) {
    char dev[256], vendor[256], driver[256], plat[256];
    cl_int err;
    out[0] = '\0';
    *what = NULL;
    if ((err = info_string(device, CL_DEVICE_NAME, dev, sizeof dev)))
        *what = "clGetDeviceInfo(CL_DEVICE_NAME)";
    else if ((err = info_string(device, CL_DEVICE_VENDOR, vendor, sizeof vendor)))
        *what = "clGetDeviceInfo(CL_DEVICE_VENDOR)";
    else if ((err = info_string(device, CL_DRIVER_VERSION, driver, sizeof driver)))
        *what = "clGetDeviceInfo(CL_DRIVER_VERSION)";
    else if ((err = platform_string(platform, CL_PLATFORM_VERSION, plat, sizeof plat)))
        *what = "clGetPlatformInfo(CL_PLATFORM_VERSION)";
    if (err)
        return err;
    snprintf(out, len, "device %s\nvendor %s\ndriver %s\nplatform %s\n", dev, vendor, driver, plat);
    return CL_SUCCESS;
}

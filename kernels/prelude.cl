// SPDX-License-Identifier: MIT
// Shared definitions for every clact program. Pure OpenCL C 1.2; the host concatenates this
// file in front of a family's file and builds with:
//   -DCLACT_VW=<1|2|4|8|16>   elements per work-item (vector width)
//   -DCLACT_F32               the storage dtype (only f32 in this version)
// Per-call values (sizes, offsets, parameters) are kernel arguments, never -D options.

// Contraction of a*b+c into fma would make results depend on the compiler's whim; where a
// kernel wants an fma it says fma().
#pragma OPENCL FP_CONTRACT OFF

#ifndef CLACT_VW
#error "clact kernels need -DCLACT_VW"
#endif

#define CLACT_CAT_(a, b) a##b
#define CLACT_CAT(a, b) CLACT_CAT_(a, b)

#if CLACT_VW == 1
typedef float vfloat;
typedef int vint;
#define CLACT_LOAD(p) (*(p))
#define CLACT_STORE(v, p) (*(p) = (v))
#elif CLACT_VW == 2 || CLACT_VW == 4 || CLACT_VW == 8 || CLACT_VW == 16
typedef CLACT_CAT(float, CLACT_VW) vfloat;
typedef CLACT_CAT(int, CLACT_VW) vint;
#define CLACT_LOAD(p) CLACT_CAT(vload, CLACT_VW)(0, p)
#define CLACT_STORE(v, p) CLACT_CAT(vstore, CLACT_VW)(v, 0, p)
#else
#error "CLACT_VW must be 1, 2, 4, 8 or 16"
#endif

// Compensated accumulation: add y to the sum s + c (c holds what rounding lost), with Knuth's
// TwoSum, whose error term is exact whatever the relative sizes of s and y (Kahan's shortcut
// is not when a term outweighs the running sum, as the first 1 = exp(0) of a softmax row does).
#define CLACT_ACC(T, s, c, y)                                                                \
    do {                                                                                     \
        T y__ = (y);                                                                         \
        T t__ = s + y__;                                                                     \
        T b__ = t__ - s;                                                                     \
        c += (s - (t__ - b__)) + (y__ - b__);                                                \
        s = t__;                                                                             \
    } while (0)

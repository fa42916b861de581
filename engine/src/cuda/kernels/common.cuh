// Shared by every kernel source (prepended by the Rust side before NVRTC compiles it).
// Also compiles as plain C++ (host_check.cpp), so the format decoding is testable without a GPU.
#ifndef FITBENCH_COMMON_CUH
#define FITBENCH_COMMON_CUH

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define FB_HD __host__ __device__ __forceinline__
#else
#define FB_HD inline
#include <stdint.h>
#endif

#if defined(__CUDACC_RTC__)
typedef unsigned char uint8_t;
typedef signed char int8_t;
typedef unsigned short uint16_t;
typedef short int16_t;
typedef unsigned int uint32_t;
typedef int int32_t;
typedef unsigned long long uint64_t;
typedef long long int64_t;
#endif

// IEEE half -> float by bit manipulation (no cuda_fp16.h needed; same on host and device).
FB_HD float fb_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            // subnormal: normalize
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while ((man & 0x400) == 0);
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    union { uint32_t u; float f; } v;
    v.u = bits;
    return v.f;
}

FB_HD float fb_bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v;
    v.u = (uint32_t)h << 16;
    return v.f;
}

// Unaligned little-endian loads (block structs are packed at odd sizes: 34, 144, 176, 210 bytes).
FB_HD uint16_t fb_ld16(const uint8_t* p) { return (uint16_t)(p[0] | (p[1] << 8)); }
FB_HD uint32_t fb_ld32(const uint8_t* p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
FB_HD float fb_ldf32(const uint8_t* p) {
    union { uint32_t u; float f; } v;
    v.u = fb_ld32(p);
    return v.f;
}

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define FB_NEG_INF (__int_as_float(0xff800000))
__device__ __forceinline__ float fb_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float fb_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
#endif

#endif

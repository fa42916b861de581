// Dequantization of 8 consecutive weights of one row, per ggml block format.
// `row` points at the row's first block, `i0` (a multiple of 8) is the first element.
// Layouts as ggml-common.h; 8 consecutive elements never straddle a sub-block of any format.
#ifndef FITBENCH_DEQUANT_CUH
#define FITBENCH_DEQUANT_CUH

// Q4_K / Q5_K 6-bit scale and min of sub-block j (ggml get_scale_min_k4).
FB_HD void fb_scale_min_k4(int j, const uint8_t* q, int* d, int* m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

struct DeqF32 {
    FB_HD static void deq8(const uint8_t* row, int i0, float* v) {
        for (int j = 0; j < 8; j++) v[j] = fb_ldf32(row + 4 * (i0 + j));
    }
};

struct DeqF16 {
    FB_HD static void deq8(const uint8_t* row, int i0, float* v) {
        for (int j = 0; j < 8; j++) v[j] = fb_f16_to_f32(fb_ld16(row + 2 * (i0 + j)));
    }
};

struct DeqBF16 {
    FB_HD static void deq8(const uint8_t* row, int i0, float* v) {
        for (int j = 0; j < 8; j++) v[j] = fb_bf16_to_f32(fb_ld16(row + 2 * (i0 + j)));
    }
};

// block_q8_0: half d; int8 qs[32] (34 bytes).
struct DeqQ8_0 {
    FB_HD static void deq8(const uint8_t* row, int i0, float* v) {
        const uint8_t* b = row + (i0 / 32) * 34;
        float d = fb_f16_to_f32(fb_ld16(b));
        const int8_t* qs = (const int8_t*)(b + 2);
        int o = i0 % 32;
        for (int j = 0; j < 8; j++) v[j] = d * (float)qs[o + j];
    }
};

// block_q4_0: half d; uint8 qs[16] (18 bytes); element i<16 low nibble of qs[i], else high of qs[i-16].
struct DeqQ4_0 {
    FB_HD static void deq8(const uint8_t* row, int i0, float* v) {
        const uint8_t* b = row + (i0 / 32) * 18;
        float d = fb_f16_to_f32(fb_ld16(b));
        const uint8_t* qs = b + 2;
        int o = i0 % 32;
        for (int j = 0; j < 8; j++) {
            int i = o + j;
            int q = i < 16 ? (qs[i] & 0xF) : (qs[i - 16] >> 4);
            v[j] = d * (float)(q - 8);
        }
    }
};

// block_q5_0: half d; uint8 qh[4]; uint8 qs[16] (22 bytes).
struct DeqQ5_0 {
    FB_HD static void deq8(const uint8_t* row, int i0, float* v) {
        const uint8_t* b = row + (i0 / 32) * 22;
        float d = fb_f16_to_f32(fb_ld16(b));
        uint32_t qh = fb_ld32(b + 2);
        const uint8_t* qs = b + 6;
        int o = i0 % 32;
        for (int j = 0; j < 8; j++) {
            int i = o + j;
            int q = i < 16 ? ((qs[i] & 0xF) | (((qh >> i) & 1) << 4))
                           : ((qs[i - 16] >> 4) | (((qh >> i) & 1) << 4));
            v[j] = d * (float)(q - 16);
        }
    }
};

// block_q4_K: half d; half dmin; uint8 scales[12]; uint8 qs[128] (144 bytes).
// 64-element chunk c uses qs[32c..32c+32]: low nibbles (sub-block 2c), then high (2c+1).
struct DeqQ4_K {
    FB_HD static void deq8(const uint8_t* row, int i0, float* v) {
        const uint8_t* b = row + (i0 / 256) * 144;
        float d = fb_f16_to_f32(fb_ld16(b));
        float dmin = fb_f16_to_f32(fb_ld16(b + 2));
        const uint8_t* scales = b + 4;
        const uint8_t* qs = b + 16;
        int w = i0 % 256, c = w / 64, in = w % 64, hi = in >= 32, l = in % 32;
        int sc, m;
        fb_scale_min_k4(2 * c + hi, scales, &sc, &m);
        float d1 = d * sc, m1 = dmin * m;
        const uint8_t* q = qs + 32 * c + l;
        for (int j = 0; j < 8; j++) v[j] = d1 * (float)(hi ? (q[j] >> 4) : (q[j] & 0xF)) - m1;
    }
};

// block_q5_K: half d; half dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128] (176 bytes).
struct DeqQ5_K {
    FB_HD static void deq8(const uint8_t* row, int i0, float* v) {
        const uint8_t* b = row + (i0 / 256) * 176;
        float d = fb_f16_to_f32(fb_ld16(b));
        float dmin = fb_f16_to_f32(fb_ld16(b + 2));
        const uint8_t* scales = b + 4;
        const uint8_t* qh = b + 16;
        const uint8_t* qs = b + 48;
        int w = i0 % 256, c = w / 64, in = w % 64, hi = in >= 32, l = in % 32;
        int sc, m;
        fb_scale_min_k4(2 * c + hi, scales, &sc, &m);
        float d1 = d * sc, m1 = dmin * m;
        int bit = 2 * c + hi;
        for (int j = 0; j < 8; j++) {
            int ql = hi ? (qs[32 * c + l + j] >> 4) : (qs[32 * c + l + j] & 0xF);
            int h = (qh[l + j] >> bit) & 1;
            v[j] = d1 * (float)(ql + 16 * h) - m1;
        }
    }
};

// block_q6_K: uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d (210 bytes).
// 128-element half n, quarter q (32 elements): low 4 bits from ql[64n + l (+32 for odd q)],
// (low nibble for q < 2), 2 high bits from qh[32n + l] >> 2q; scale[8n + l/16 + 2q].
struct DeqQ6_K {
    FB_HD static void deq8(const uint8_t* row, int i0, float* v) {
        const uint8_t* b = row + (i0 / 256) * 210;
        const uint8_t* ql = b;
        const uint8_t* qh = b + 128;
        const int8_t* sc = (const int8_t*)(b + 192);
        float d = fb_f16_to_f32(fb_ld16(b + 208));
        int w = i0 % 256, n = w / 128, r = w % 128, q = r / 32, l = r % 32;
        float s = d * (float)sc[8 * n + l / 16 + 2 * q];
        for (int j = 0; j < 8; j++) {
            uint8_t lo = ql[64 * n + l + j + ((q & 1) ? 32 : 0)];
            int low = (q < 2) ? (lo & 0xF) : (lo >> 4);
            int high = (qh[32 * n + l + j] >> (2 * q)) & 3;
            v[j] = s * (float)((low | (high << 4)) - 32);
        }
    }
};

#endif

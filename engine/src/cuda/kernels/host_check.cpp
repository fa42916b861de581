// Host build of the matmul kernel's per-lane logic (g++), for tests on machines without a GPU:
// `host_check TYPE K ROWS N w.bin x.bin y.bin` sums the 32 lanes' partials as the warp would.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "common.cuh"
#include "matmul.cu"

template <class D>
static void run(const std::vector<uint8_t>& w, size_t row_bytes, const float* x, float* y, int k,
                int rows, int n) {
    for (int r = 0; r < rows; r++) {
        for (int t0 = 0; t0 < n; t0 += MM_TOKENS) {
            int n_tok = n - t0 < MM_TOKENS ? n - t0 : MM_TOKENS;
            float sum[MM_TOKENS] = {0};
            for (int lane = 0; lane < 32; lane++) {
                float acc[MM_TOKENS];
                mm_lane_partial<D>(w.data() + r * row_bytes, x + (size_t)t0 * k, k, n_tok, lane, acc);
                for (int t = 0; t < MM_TOKENS; t++) sum[t] += acc[t];
            }
            for (int t = 0; t < n_tok; t++) y[(size_t)(t0 + t) * rows + r] = sum[t];
        }
    }
}

static std::vector<uint8_t> slurp(const char* path) {
    FILE* f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    std::vector<uint8_t> v;
    uint8_t buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) v.insert(v.end(), buf, buf + got);
    fclose(f);
    return v;
}

int main(int argc, char** argv) {
    if (argc != 8) { fprintf(stderr, "usage: host_check TYPE K ROWS N w.bin x.bin y.bin\n"); return 2; }
    const char* ty = argv[1];
    int k = atoi(argv[2]), rows = atoi(argv[3]), n = atoi(argv[4]);
    std::vector<uint8_t> w = slurp(argv[5]), xb = slurp(argv[6]);
    std::vector<float> x(xb.size() / 4);
    memcpy(x.data(), xb.data(), xb.size());
    std::vector<float> y((size_t)n * rows);
    size_t rb = w.size() / rows;
#define CASE(NAME, D) else if (!strcmp(ty, NAME)) run<D>(w, rb, x.data(), y.data(), k, rows, n);
    if (0) {}
    CASE("F32", DeqF32) CASE("F16", DeqF16) CASE("BF16", DeqBF16) CASE("Q8_0", DeqQ8_0)
    CASE("Q4_0", DeqQ4_0) CASE("Q5_0", DeqQ5_0) CASE("Q4_K", DeqQ4_K) CASE("Q5_K", DeqQ5_K)
    CASE("Q6_K", DeqQ6_K)
    else { fprintf(stderr, "unknown type %s\n", ty); return 2; }
    FILE* f = fopen(argv[7], "wb");
    if (!f) { perror(argv[7]); return 2; }
    fwrite(y.data(), 4, y.size(), f);
    fclose(f);
    return 0;
}

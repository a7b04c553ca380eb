/* The whole spatially multiplexed conv in one call, without the pixel shuffles, splits and concat.
 *
 * Each part reads only its own channels, and every output channel is a list of taps (input channel, dy, dx, w):
 *
 * - as-is and superpixel parts (phased[c] == 0) are translation invariant at full resolution: output channel c
 *   at (y, x) is bias[4c] + sum_t w[t] * in[ci[t], y + dy[t], x + dx[t]] (zero padding);
 * - a subpixel part (phased[c] == 1: pixel-unshuffle, conv, pixel-shuffle) is an ordinary conv on the four
 *   phase planes in[ci, 2Y + p, 2X + q]: output phase (a, b) of channel c at (Y, X) is
 *   bias[4c + 2a + b] + sum_t w[t] * plane(ci[t] / 4, phase ci[t] % 4)[Y + dy[t], X + dx[t]].
 *
 * Taps of (c, phase) are start[4c + phase] .. start[4c + phase + 1] (only phase 0 for unphased channels).
 * The input is first copied once into zero-padded planes (full resolution, or the four half-resolution phase
 * planes of a subpixel channel), so that every tap is one long, branch-free, vectorisable loop over a whole
 * plane: acc[i] += w * plane[i + offset]. Columns past the map's width in the padded row stride are computed
 * and dropped. Taps are applied five (then three, then one) at a time: one load and store of the accumulator
 * per five taps (measured 10-18% faster than three at a time on 5x5 layers).
 */
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Elements of one channel's padded planes, and of one thread's accumulator. */
static void sizes(int64_t height, int64_t width, int64_t radius, int64_t half_radius, int64_t *slot,
                  int64_t *acc) {
    const int64_t full = (height + 2 * radius) * (width + 2 * radius);
    const int64_t phases = 4 * (height / 2 + 2 * half_radius) * (width / 2 + 2 * half_radius);
    *slot = max64(full, phases);
    *acc = max64(height * (width + 2 * radius), 4 * (height / 2) * (width / 2 + 2 * half_radius));
}

int64_t spatial_multiplexing_workspace(int64_t channels, int64_t height, int64_t width, int64_t radius,
                                       int64_t half_radius, int64_t threads) {
    int64_t slot, acc;
    sizes(height, width, radius, half_radius, &slot, &acc);
    return channels * slot + threads * acc;
}

#define DEFINE_TAPS(NAME, T)                                                                                \
    static void NAME(T *restrict acc, int64_t n, T bias, const T *restrict planes,                         \
                     const int64_t *restrict offset, const T *restrict w, int64_t taps) {                  \
        for (int64_t i = 0; i < n; ++i) acc[i] = bias;                                                     \
        int64_t t = 0;                                                                                     \
        for (; t + 5 <= taps; t += 5) {                                                                    \
            const T w0 = w[t], w1 = w[t + 1], w2 = w[t + 2], w3 = w[t + 3], w4 = w[t + 4];                 \
            const T *restrict s0 = planes + offset[t], *restrict s1 = planes + offset[t + 1],             \
                    *restrict s2 = planes + offset[t + 2], *restrict s3 = planes + offset[t + 3],          \
                    *restrict s4 = planes + offset[t + 4];                                                 \
            for (int64_t i = 0; i < n; ++i)                                                                \
                acc[i] += w0 * s0[i] + w1 * s1[i] + w2 * s2[i] + w3 * s3[i] + w4 * s4[i];                  \
        }                                                                                                  \
        for (; t + 3 <= taps; t += 3) {                                                                    \
            const T w0 = w[t], w1 = w[t + 1], w2 = w[t + 2];                                               \
            const T *restrict s0 = planes + offset[t], *restrict s1 = planes + offset[t + 1],             \
                    *restrict s2 = planes + offset[t + 2];                                                 \
            for (int64_t i = 0; i < n; ++i) acc[i] += w0 * s0[i] + w1 * s1[i] + w2 * s2[i];                \
        }                                                                                                  \
        for (; t < taps; ++t) {                                                                            \
            const T wt = w[t];                                                                             \
            const T *restrict s0 = planes + offset[t];                                                     \
            for (int64_t i = 0; i < n; ++i) acc[i] += wt * s0[i];                                          \
        }                                                                                                  \
    }

DEFINE_TAPS(taps_f32, float)
DEFINE_TAPS(taps_f64, double)

#define DEFINE_KERNEL(NAME, T, TAPS)                                                                              \
    void NAME(const T *restrict in, T *restrict out, int64_t batch, int64_t channels, int64_t height,       \
              int64_t width, const int64_t *restrict start, const int32_t *restrict phased,                \
              const int32_t *restrict tap_channel, const int32_t *restrict tap_dy,                         \
              const int32_t *restrict tap_dx, const T *restrict tap_w, const T *restrict bias,             \
              int64_t radius, int64_t half_radius, T *restrict workspace, int threads) {                   \
        int64_t slot, acc_size;                                                                            \
        sizes(height, width, radius, half_radius, &slot, &acc_size);                                       \
        const int64_t plane = height * width, wp = width + 2 * radius, hp = height + 2 * radius;          \
        const int64_t h2 = height / 2, w2 = width / 2;                                                     \
        const int64_t wq = w2 + 2 * half_radius, hq = h2 + 2 * half_radius, quarter = hq * wq;            \
        T *planes = workspace, *accs = workspace + channels * slot;                                        \
        for (int64_t b = 0; b < batch; ++b) {                                                              \
            const T *src = in + b * channels * plane;                                                      \
            T *dst = out + b * channels * plane;                                                           \
            _Pragma("omp parallel for schedule(static) num_threads(threads) if(threads > 1)")            \
            for (int64_t c = 0; c < channels; ++c) {                                                       \
                T *p = planes + c * slot;                                                                  \
                const T *s = src + c * plane;                                                              \
                if (!phased[c]) {                                                                          \
                    memset(p, 0, sizeof(T) * hp * wp);                                                     \
                    for (int64_t y = 0; y < height; ++y)                                                   \
                        memcpy(p + (y + radius) * wp + radius, s + y * width, sizeof(T) * width);          \
                } else {                                                                                   \
                    memset(p, 0, sizeof(T) * 4 * quarter);                                                 \
                    for (int64_t y = 0; y < height; ++y) {                                                 \
                        T *q0 = p + (2 * (y & 1)) * quarter + (y / 2 + half_radius) * wq + half_radius;    \
                        T *q1 = q0 + quarter;                                                              \
                        const T *row = s + y * width;                                                      \
                        for (int64_t x = 0; x < w2; ++x) {                                                 \
                            q0[x] = row[2 * x];                                                            \
                            q1[x] = row[2 * x + 1];                                                        \
                        }                                                                                  \
                    }                                                                                      \
                }                                                                                          \
            }                                                                                              \
            _Pragma("omp parallel for schedule(static) num_threads(threads) if(threads > 1)")            \
            for (int64_t c = 0; c < channels; ++c) {                                                       \
                int thread = 0;                                                                            \
                THREAD_ID(thread);                                                                         \
                T *acc = accs + thread * acc_size;                                                         \
                T *o = dst + c * plane;                                                                    \
                const int64_t t0 = start[4 * c];                                                           \
                int64_t offset[start[4 * c + 4] - t0 + 1];                                                 \
                if (!phased[c]) {                                                                          \
                    const int64_t n = (height - 1) * wp + width, taps = start[4 * c + 1] - t0;             \
                    for (int64_t t = 0; t < taps; ++t)                                                     \
                        offset[t] = tap_channel[t0 + t] * slot + (tap_dy[t0 + t] + radius) * wp            \
                                    + tap_dx[t0 + t] + radius;                                             \
                    TAPS(acc, n, bias[4 * c], planes, offset, tap_w + t0, taps);                           \
                    for (int64_t y = 0; y < height; ++y)                                                   \
                        memcpy(o + y * width, acc + y * wp, sizeof(T) * width);                            \
                } else {                                                                                   \
                    const int64_t n = (h2 - 1) * wq + w2;                                                  \
                    for (int64_t t = 0; t < start[4 * c + 4] - t0; ++t)                                    \
                        offset[t] = (tap_channel[t0 + t] / 4) * slot + (tap_channel[t0 + t] % 4) * quarter \
                                    + (tap_dy[t0 + t] + half_radius) * wq + tap_dx[t0 + t] + half_radius;  \
                    for (int64_t phase = 0; phase < 4; ++phase) {                                          \
                        const int64_t first = start[4 * c + phase] - t0;                                   \
                        TAPS(acc + phase * h2 * wq, n, bias[4 * c + phase], planes, offset + first,        \
                             tap_w + t0 + first, start[4 * c + phase + 1] - t0 - first);                   \
                    }                                                                                      \
                    for (int64_t y = 0; y < height; ++y) {                                                 \
                        const T *a0 = acc + (2 * (y & 1)) * h2 * wq + (y / 2) * wq, *a1 = a0 + h2 * wq;    \
                        T *row = o + y * width;                                                            \
                        for (int64_t x = 0; x < w2; ++x) {                                                 \
                            row[2 * x] = a0[x];                                                            \
                            row[2 * x + 1] = a1[x];                                                        \
                        }                                                                                  \
                    }                                                                                      \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
    }

#ifdef _OPENMP
#define THREAD_ID(t) (t) = omp_get_thread_num()
#else
#define THREAD_ID(t) (void)(t)
#endif

DEFINE_KERNEL(spatial_multiplexing_f32, float, taps_f32)
DEFINE_KERNEL(spatial_multiplexing_f64, double, taps_f64)

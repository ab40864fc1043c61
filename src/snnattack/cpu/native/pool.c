/* 2-d average pooling whose windows tile the input (kernel = stride, no padding), in one
 * pass over memory each way (snnattack.pooling).
 *
 * The same sums and quotients as ATen's CPU kernel for contiguous NCHW tensors, in the same
 * order and precision: each window summed row by row from 0, divided by the divisor, and
 * added to a zeroed output (so -0 becomes +0, as there); each input's gradient is its
 * window's gradient divided by the divisor added to 0, and 0 where no window covers it. The
 * same values bit for bit (tests/unit/cpu/test_pooling.py). A call handles the planes [lo, hi) (one
 * per sample and channel), so that callers can split a layer across threads. The loops are
 * inlined with the window's size constant for 2x2, so that the compiler unrolls and
 * vectorises them.
 */

#define INLINE static inline __attribute__((always_inline))

/* Runs FN on the planes with the window's size a constant for 2x2, else as given. */
#define TILES(FN, SRC, OUT)                                                                    \
    if (kh == 2 && kw == 2)                                                                    \
        FN(SRC, OUT, lo, hi, H, W, 2, 2, divide);                                              \
    else                                                                                       \
        FN(SRC, OUT, lo, hi, H, W, kh, kw, divide);

#define AVG_POOL_KERNELS(T, SUFFIX)                                                            \
    INLINE void forward_planes_##SUFFIX(const T *x, T *y, long lo, long hi, long H, long W,    \
                                        long kh, long kw, T divide) {                          \
        long OH = H / kh, OW = W / kw;                                                         \
        for (long p = lo; p < hi; p++) {                                                       \
            const T *xp = x + p * H * W;                                                       \
            T *yp = y + p * OH * OW;                                                           \
            for (long oh = 0; oh < OH; oh++) {                                                 \
                for (long ow = 0; ow < OW; ow++) {                                             \
                    T sum = 0;                                                                 \
                    for (long i = 0; i < kh; i++) {                                            \
                        const T *row = xp + (oh * kh + i) * W + ow * kw;                       \
                        for (long j = 0; j < kw; j++) sum = sum + row[j];                      \
                    }                                                                          \
                    T mean = sum / divide;                                                     \
                    yp[oh * OW + ow] = (T)0 + mean;                                            \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    INLINE void backward_planes_##SUFFIX(const T *g, T *dx, long lo, long hi, long H, long W,  \
                                         long kh, long kw, T divide) {                         \
        long OH = H / kh, OW = W / kw;                                                         \
        for (long p = lo; p < hi; p++) {                                                       \
            const T *gp = g + p * OH * OW;                                                     \
            T *dp = dx + p * H * W;                                                            \
            for (long ih = 0; ih < H; ih++) {                                                  \
                T *row = dp + ih * W;                                                          \
                long iw = 0;                                                                   \
                if (ih < OH * kh) {                                                            \
                    const T *grow = gp + (ih / kh) * OW;                                       \
                    for (long ow = 0; ow < OW; ow++) {                                         \
                        T share = grow[ow] / divide;                                           \
                        share = (T)0 + share;                                                  \
                        for (long j = 0; j < kw; j++) row[ow * kw + j] = share;                \
                    }                                                                          \
                    iw = OW * kw;                                                              \
                }                                                                              \
                for (; iw < W; iw++) row[iw] = 0; /* no window covers it */                    \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    void avg_pool_forward_##SUFFIX(const T *x, T *y, long lo, long hi, long H, long W,         \
                                   long kh, long kw, T divide) {                               \
        TILES(forward_planes_##SUFFIX, x, y)                                                   \
    }                                                                                          \
                                                                                               \
    void avg_pool_backward_##SUFFIX(const T *g, T *dx, long lo, long hi, long H, long W,       \
                                    long kh, long kw, T divide) {                              \
        TILES(backward_planes_##SUFFIX, g, dx)                                                 \
    }

AVG_POOL_KERNELS(float, f32)
AVG_POOL_KERNELS(double, f64)

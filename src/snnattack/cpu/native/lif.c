/* The fused LIF's T loops (snnattack.multistep) in one pass over memory per layer, and the
 * slope of its rate-current curve for the RGA gradient.
 *
 * Each element's membrane (forward) or dL/du (backward) stays in L1 across the T steps,
 * where the torch ops pass over a step's tensor about four times forward and ten times
 * backward. Every sum, product and quotient is the one the torch ops compute, in the same
 * order and precision (built without FMA contraction or fast math: snnattack.native.FLAGS),
 * so the spikes and gradients are the same bit for bit (tests/unit/cpu/test_native.py).
 *
 * Tensors are [T, ...] with each step's elements contiguous; the *s arguments are step
 * strides in elements (0: one tensor broadcast over T, or one step's buffer reused). A call
 * handles the elements [lo, hi) of every step, so that callers can split a layer across
 * threads.
 */

#define BLOCK 256 /* elements whose state stays in L1 across the T steps */

/* lif_backward's call of one block with the surrogate S, a constant */
#define BLOCK_BACKWARD(SUFFIX, S)                                                              \
    block_backward_##SUFFIX(h, n, g, gs, dx, steps, b, m, lam, theta, hard, detach_reset,      \
                            detach_membrane, S, a, k, scale, divide, in_scale)

#define LIF_KERNELS(T, SUFFIX, ABS, MAX)                                                       \
    /* h_t = lam u_{t-1} + x_t in_scale; s_t = H(h_t - theta); u_t = h_t (1 - s_t) (hard, a   \
     * select: 0 where it fired, else h_t, no NaN at an infinite h_t, snnattack.snn.reset) or \
     * h_t - theta s_t (soft). h and s may be null (not kept). in_scale is an adapted         \
     * neuron's input scale (1: none; x * 1 is x, bit for bit). */                            \
    void lif_forward_##SUFFIX(const T *x, long xs, T *h, long hs, T *s, long ss, long steps,   \
                              long lo, long hi, T lam, T theta, int hard, T in_scale) {        \
        T u[BLOCK];                                                                            \
        for (long b = lo; b < hi; b += BLOCK) {                                                \
            long m = hi - b < BLOCK ? hi - b : BLOCK;                                          \
            for (long i = 0; i < m; i++) u[i] = 0;                                             \
            for (long t = 0; t < steps; t++) {                                                 \
                const T *xt = x + t * xs + b;                                                  \
                T *ht = h ? h + t * hs + b : 0, *st = s ? s + t * ss + b : 0;                  \
                for (long i = 0; i < m; i++) {                                                 \
                    T lu = u[i] * lam, xv = xt[i] * in_scale;                                  \
                    T hv = lu + xv;                                                            \
                    T sv = hv >= theta ? (T)1 : (T)0;                                          \
                    if (ht) ht[i] = hv;                                                        \
                    if (st) st[i] = sv;                                                        \
                    T r = -theta * sv;                                                         \
                    u[i] = hard ? (sv != 0 ? (T)0 : hv) : hv + r;                              \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    /* The steps in reverse for the elements [b, b + m): dL/dI_t (dx, step stride n as h's)    \
     * from h_t and dL/ds_t (g). The surrogate's slope at v = h - theta times dL/ds, as its    \
     * torch ops compute it: the triangle (surrogate 0) max(0, a - |v|), the rectangle (1)     \
     * |v| < a, the arctan (2) 1 / (1 + (a v)^2) * k, the fast sigmoid (3)                     \
     * dL/ds / (a |v| + 1)^2, the sigmoid (4) dL/ds a sig (1 - sig) with sig = sigmoid(a v)    \
     * read from dx (ATen's, filled by the caller); divided by scale when divide is set.       \
     * dL/dI_t is written times in_scale, the forward's input scale (1: none).                 \
     * Inlined with a constant surrogate, each surrogate's loop has no branch left on it       \
     * and vectorises. */                                                                      \
    static inline __attribute__((always_inline)) void block_backward_##SUFFIX(                 \
        const T *h, long n, const T *g, long gs, T *dx, long steps, long b, long m, T lam,     \
        T theta, int hard, int detach_reset, int detach_membrane, const int surrogate, T a,    \
        T k, T scale, int divide, T in_scale) {                                                \
        T gu[BLOCK]; /* dL/du_t from step t + 1 */                                             \
        for (long t = steps - 1; t >= 0; t--) {                                                \
            int carry = t != steps - 1 && !detach_membrane; /* else no dL/du_t */              \
            const T *ht = h + t * n + b, *gt = g + t * gs + b;                                 \
            T *dt = dx + t * n + b;                                                            \
            for (long i = 0; i < m; i++) {                                                     \
                T hv = ht[i], ds = gt[i];                                                      \
                if (carry && !detach_reset) { /* the reset's path to the spike; the hard       \
                                               * reset's 0 where not finite (infinite h) */    \
                    T p = gu[i] * (hard ? hv : theta);                                         \
                    p = hard && !(ABS(p) <= MAX) ? (T)0 : p;                                   \
                    ds = ds - p;                                                               \
                }                                                                              \
                T v = hv - theta, av = ABS(v), slope;                                          \
                if (surrogate == 1) {                                                          \
                    T inside = av < a ? (T)1 : (T)0;                                           \
                    slope = ds * inside;                                                       \
                } else if (surrogate == 2) {                                                   \
                    T z = a * v;                                                               \
                    z = z * z;                                                                 \
                    z = z + (T)1;                                                              \
                    z = (T)1 / z;                                                              \
                    z = z * k;                                                                 \
                    slope = ds * z;                                                            \
                } else if (surrogate == 3) {                                                   \
                    T z = a * av;                                                              \
                    z = z + (T)1;                                                              \
                    z = z * z;                                                                 \
                    slope = ds / z;                                                            \
                } else if (surrogate == 4) {                                                   \
                    T sig = dt[i], z = ds * a;                                                 \
                    z = z * sig;                                                               \
                    slope = z * ((T)1 - sig);                                                  \
                } else {                                                                       \
                    T tri = a - av;                                                            \
                    tri = tri < 0 ? (T)0 : tri;                                                \
                    slope = ds * tri;                                                          \
                }                                                                              \
                if (divide) slope = slope / scale;                                             \
                T d = slope;                                                                   \
                if (carry) { /* + dL/du_t (1 - s_t) (hard) or + dL/du_t (soft) */              \
                    T keep = hard ? (hv < theta ? (T)1 : (T)0) : (T)1;                         \
                    T q = gu[i] * keep;                                                        \
                    d = slope + q;                                                             \
                }                                                                              \
                dt[i] = d * in_scale;                                                          \
                gu[i] = d * lam;                                                               \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    void lif_backward_##SUFFIX(const T *h, long n, const T *g, long gs, T *dx, long steps,     \
                               long lo, long hi, T lam, T theta, int hard, int detach_reset,   \
                               int detach_membrane, int surrogate, T a, T k, T scale,          \
                               int divide, T in_scale) {                                       \
        for (long b = lo; b < hi; b += BLOCK) {                                                \
            long m = hi - b < BLOCK ? hi - b : BLOCK;                                          \
            switch (surrogate) {                                                               \
            case 1: BLOCK_BACKWARD(SUFFIX, 1); break;                                          \
            case 2: BLOCK_BACKWARD(SUFFIX, 2); break;                                          \
            case 3: BLOCK_BACKWARD(SUFFIX, 3); break;                                          \
            case 4: BLOCK_BACKWARD(SUFFIX, 4); break;                                          \
            default: BLOCK_BACKWARD(SUFFIX, 0);                                                \
            }                                                                                  \
        }                                                                                      \
    }

LIF_KERNELS(float, f32, __builtin_fabsf, __FLT_MAX__)
LIF_KERNELS(double, f64, __builtin_fabs, __DBL_MAX__)

/* The slope of the RGA rate-current curve (snnattack.gradients.rga.rate_slope) at each mean
 * current c[lo, hi): gamma on [0, low], ramp on (low, high], 0 elsewhere (and at NaN). */
#define RATE_SLOPE(T, SUFFIX)                                                                  \
    void rate_slope_##SUFFIX(const T *c, T *out, long lo, long hi, T low, T high, T gamma,     \
                             T ramp) {                                                         \
        for (long i = lo; i < hi; i++) {                                                       \
            T v = c[i];                                                                        \
            out[i] = v >= 0 && v <= low ? gamma : v > low && v <= high ? ramp : (T)0;          \
        }                                                                                      \
    }

RATE_SLOPE(float, f32)
RATE_SLOPE(double, f64)

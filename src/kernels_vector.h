/* The vector layer of the pair micro-kernels, private to the files compiled once per ISA
   level (kernels.c, kernels_floor.c, kernels_lse.c): GCC vector types of LANES doubles (one
   register of the level), lane-wise operations, the exponential exp2_units and the imq
   power imq_values, the fused micro-kernel's loop over a range of sources, which the
   all-pairs sums and the cell lists' sums share, and the group steps and copied tiles of
   the loops over any d (the floored and log-sum-exp loops). Every function here is inlined
   into its caller. */
#ifndef DS_KERNELS_VECTOR_H
#define DS_KERNELS_VECTOR_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX__)
  #include <immintrin.h>
#endif
#include "kernels_isa.h"

/* One vector register of doubles: 8 with AVX-512, 4 with AVX, 2 (SSE2) below. */
#if defined(__AVX512F__)
  #define LANES 8
#elif defined(__AVX__)
  #define LANES 4
#else
  #define LANES 2
#endif
#define INLINE     static inline __attribute__((always_inline))

typedef double  vreal __attribute__((vector_size(LANES * sizeof(double))));
typedef int64_t vint __attribute__((vector_size(LANES * sizeof(int64_t))));

/* Lane-wise operations; fma is explicit because -std=c11 does not contract a*b+c. The fused
   multiply-add and the square root are intrinsics where the vector is a machine register:
   GCC 12 compiles the lane-wise loop over 4 doubles to 4 scalar fmas (AVX2 + FMA,
   -march=native on Zen 3, measured 1.7x slower in the fused loop). */
INLINE vreal splat(double x)
{
  const vint lane0 = {0};
  return __builtin_shuffle((vreal){x}, lane0);
}
#if LANES == 8
INLINE vreal vfma(vreal a, vreal b, vreal c) { return (vreal)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)c); }
INLINE vreal vfnma(vreal a, vreal b, vreal c) { return (vreal)_mm512_fnmadd_pd((__m512d)a, (__m512d)b, (__m512d)c); }
INLINE vreal vsqrt(vreal a) { return (vreal)_mm512_sqrt_pd((__m512d)a); }
#elif defined(__FMA__)
INLINE vreal vfma(vreal a, vreal b, vreal c) { return (vreal)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c); }
INLINE vreal vfnma(vreal a, vreal b, vreal c) { return (vreal)_mm256_fnmadd_pd((__m256d)a, (__m256d)b, (__m256d)c); }
INLINE vreal vsqrt(vreal a) { return (vreal)_mm256_sqrt_pd((__m256d)a); }
#else
/* No fused multiply-add instruction (the generic x86-64 level): fma() would be a library
   call per lane, so a*b + c is rounded twice (the exponential stays within 1 ulp: the
   kernels suite runs at every level). */
INLINE vreal vfma(vreal a, vreal b, vreal c)
{
  #ifdef __FP_FAST_FMA
  vreal v;
  for (int l = 0; l < LANES; l++) v[l] = fma(a[l], b[l], c[l]);
  return v;
  #else
  return a * b + c;
  #endif
}
INLINE vreal vfnma(vreal a, vreal b, vreal c) { return vfma(-a, b, c); }
INLINE vreal vsqrt(vreal a)
{
  vreal v;
  for (int l = 0; l < LANES; l++) v[l] = sqrt(a[l]);
  return v;
}
#endif
INLINE vreal load(const PetscReal *p)
{
  vreal v;
  memcpy(&v, p, sizeof(v));
  return v;
}
INLINE void store(PetscReal *p, vreal v) { memcpy(p, &v, sizeof(v)); }
/* Lanes [0, live) from p, the others `fill`. */
INLINE vreal load_partial(const PetscReal *p, int live, PetscReal fill)
{
  vreal v = splat(fill);
  for (int l = 0; l < live; l++) v[l] = p[l];
  return v;
}
/* Lanes [0, live) from p, the others `fill`: a plain load when every lane is live. */
INLINE vreal load_live(const PetscReal *p, int live, PetscReal fill) { return live == LANES ? load(p) : load_partial(p, live, fill); }
/* dst[0, n) = src[0, n) and dst[n, padded) = 0, padded a multiple of LANES, by vector
   loads and stores: the wide, log-sum-exp and floored loops copy tile rows of 128 bytes and
   up, and GCC compiles memcpy of a variable length to `rep movsq`, whose start-up took 46%
   of the wide loop's time at d = 64. */
INLINE void copy_padded(PetscReal *dst, const PetscReal *src, PetscInt n, PetscInt padded)
{
  PetscInt l = 0;

  for (; l + LANES <= n; l += LANES) store(dst + l, load(src + l));
  if (l < n) store(dst + l, load_partial(src + l, (int)(n - l), 0)), l += LANES;
  for (; l < padded; l += LANES) store(dst + l, splat(0));
}

/* p[l] += v[l] for the lanes [0, live). */
INLINE void add_partial(PetscReal *p, int live, vreal v)
{
  for (int l = 0; l < live; l++) p[l] += v[l];
}
INLINE PetscReal lane_sum(vreal v)
{
  PetscReal s = 0;
  for (int l = 0; l < LANES; l++) s += v[l];
  return s;
}

/* The most vectors exp2_units_n computes together (fixed-size arrays, which GCC keeps in
   registers where variable-length ones go to the stack): 8 in AVX-512's 32 registers, 4 in
   the 16 of AVX2 and SSE2. */
#define EXP2_GROUP_MAX (LANES == 8 ? 8 : 4)

/* Rounds each of the n vectors u[0..n) to an integer m by the 1.5 2^52 shifter (so it
   vectorises): r = u - m, exact with |r| <= 1/2, and the shifted value's bits, whose low
   bits hold m plus the shifter's offset. */
INLINE void round_by_shifter(int n, double shifter, const vreal *u, vreal *r, vint *bits)
{
  for (int w = 0; w < n; w++) {
    const vreal shifted = u[w] + shifter;
    r[w]                = u[w] - (shifted - shifter);
    memcpy(&bits[w], &shifted, sizeof(bits[w]));
  }
}

#if LANES == 8
/* The exponential's unit: exp2_units(u) = 2^(u / EXP2_UNITS). AVX-512 rounds u to
   sixteenths of a binary order and reads 2^(j/16) from a 16-entry table in two registers;
   narrower vectors have no 16-entry permute (a lane-wise lookup costs more than the
   polynomial it saves), so they round to whole orders and use a longer polynomial. */
  #define EXP2_UNITS 16

/* 2 2^(j/16) for j = 0..15, rounded, in two registers, and the relative error of each
   rounding: 2 2^(j/16) = table (1 + error). */
static const double exp2_table[16] = {2.0, 2.0885475648548275, 2.1810154653305154, 2.277577269513383, 2.378414230005442, 2.483715624146968, 2.5936791093020193, 2.7085110938737853,
                                      2.8284271247461903, 2.9536522918789987, 3.0844216508158815, 3.2209806638985086, 3.363585661014858, 3.512504320746599, 3.668016172818685, 3.830413122794295};
static const double exp2_error[16] = {0.0, 8.189317638195515e-17, -2.7939114859515733e-17, 7.826573258636076e-17, 3.3484623336251524e-17, 3.750854201303127e-17, 1.9572585293112036e-17, 5.68648095791174e-17,
                                      -6.835808657661922e-17, -2.3591094770850053e-17, 5.1548301170786783e-17, 1.5341410053603723e-17, 4.875160526227062e-17, 1.685487290628973e-17, 1.790126907604513e-17, -5.545065618639427e-17};

/* Entry j of a 16-entry table, lane by lane: one two-register permute. */
INLINE vreal table_lookup(const PetscReal *table, vint j) { return __builtin_shuffle(load(table), load(table + 8), j); }

/* 2^(u/16), lane by lane, for u <= 0, for the n <= EXP2_GROUP_MAX vectors u[0..n) in
   place, each step of the n computed together (independent chains for the core's
   scheduler); 0 where it is below 2^(-1021 - 1/32), so no result is subnormal. u is
   rounded to an integer m = 16 n + j (0 <= j < 16) by the shifter (round_by_shifter; its
   low bits then hold 16 (n + 1022) + j), r = u - m exact with |r| <= 1/2, and
   2^(u/16) = 2^(n-1) * 2 2^(j/16) * 2^(r/16): the table entry and its rounding error come
   from two-register permutes indexed by the shifter's low 4 bits, 2^(r/16) - 1 from a
   degree-6 polynomial (Chebyshev fit, error 1.4e-17) whose constant term carries the
   table's rounding error, and 2^(n-1) is built in the exponent bits, set to 0 for
   n <= -1022 by an integer compare and mask. Relative error 0.57 eps (test
   exponential_matches_long_double).
   A u below -2^51 gives 0; an infinite u (from a squared distance beyond DBL_MAX) gives
   NaN, which the run's non-finite check reports. */
INLINE void exp2_units_n(int n, vreal *u)
{
  static const double coefficient[6] = {9.1813349609072544707e-12, 1.2716085030349987688e-9, 1.4676100321837673748e-7,
                                        1.3550807777499828836e-5,  9.383847928089873078e-4,   4.3321698784996609583e-2};
  vint                bits[EXP2_GROUP_MAX]; /* the shifter's bits plus 16 (n + 1022) + j */
  vreal               r[EXP2_GROUP_MAX], p[EXP2_GROUP_MAX];

  round_by_shifter(n, 0x1.8p52 + 16 * 1022, u, r, bits);
  for (int w = 0; w < n; w++) p[w] = splat(coefficient[0]);
  for (int k = 1; k < 6; k++)
    for (int w = 0; w < n; w++) p[w] = vfma(p[w], r[w], splat(coefficient[k]));
  for (int w = 0; w < n; w++) {
    const vint index = bits[w] & 15;
    vint       scale_bits;
    vreal      scale;
    p[w] = vfma(p[w], r[w], table_lookup(exp2_error, index)); /* 2^(r/16) - 1 + error */
    /* The bits of 2^(n-1), that is (n + 1022) << 52: shifting left by 48 drops the
       shifter's bits and j moves below bit 52; 0 unless n + 1022 >= 1. */
    scale_bits = (bits[w] << 48) & (int64_t)0xFFF0000000000000ULL & (bits[w] > 0x4338000000000000LL + 15);
    memcpy(&scale, &scale_bits, sizeof(scale));
    scale *= table_lookup(exp2_table, index);
    u[w] = vfma(scale, p[w], scale);
  }
}
#else
  #define EXP2_UNITS 1

/* 2^u, lane by lane, for u <= 0, for the n <= EXP2_GROUP_MAX vectors u[0..n) in place,
   each step of the n computed together (independent chains for the core's scheduler); 0
   where u is below -1021 - 1/32, as with AVX-512's sixteenths, so no result is subnormal.
   u is rounded to an integer m by the shifter (round_by_shifter; its low bits then hold
   m + 1023), r = u - m exact with |r| <= 1/2, and 2^u = 2^m * 2^r: 2^r from a degree-11 polynomial (Chebyshev fit
   of 2^r - 1, error 3.2e-18, Horner's rule ending in + 1), and 2^m built in the exponent
   bits, set to 0 below the threshold by a compare of u and a mask. Relative error 0.60 eps
   (test exponential_matches_long_double). An infinite u gives NaN (0 times NaN), which
   the run's non-finite check reports. */
INLINE void exp2_units_n(int n, vreal *u)
{
  static const double coefficient[11] = {4.4558179083360645e-10, 7.074194297288521e-09, 1.0178057087733941e-07, 1.3215432535912375e-06, 1.5252733841556773e-05, 0.00015403530463724353,
                                         0.001333355814640647,   0.009618129107587256,  0.055504108664821625,   0.24022650695910158,    0.6931471805599453};
  vint                bits[EXP2_GROUP_MAX]; /* the shifter's bits plus m + 1023, then those of 2^m */
  vreal               r[EXP2_GROUP_MAX], p[EXP2_GROUP_MAX];

  round_by_shifter(n, 0x1.8p52 + 1023, u, r, bits);
  /* The bits of 2^m, that is (m + 1023) << 52: shifting left by 52 drops the shifter's bits;
     0 below the threshold (which also keeps m + 1023 >= 2). Before the polynomial, so that
     u is not kept alive through it. */
  for (int w = 0; w < n; w++) bits[w] = (bits[w] << 52) & (u[w] >= -1021 - 1.0 / 32);
  for (int w = 0; w < n; w++) p[w] = splat(coefficient[0]);
  for (int k = 1; k < 11; k++)
    for (int w = 0; w < n; w++) p[w] = vfma(p[w], r[w], splat(coefficient[k]));
  for (int w = 0; w < n; w++) {
    vreal scale;
    memcpy(&scale, &bits[w], sizeof(scale));
    u[w] = scale * vfma(p[w], r[w], splat(1));
  }
}
#endif

/* 2^(u / EXP2_UNITS) of one vector (exp2_units_n). */
INLINE vreal exp2_units(vreal u)
{
  exp2_units_n(1, &u);
  return u;
}

/* The argument of a gaussian or laplace kernel for the n vectors of squared distances
   r2[0..n), in place: r^2 (gaussian) or r (laplace), so that k = 2^(log2_scale x). */
INLINE void kernel_arguments_n(DSKernelType type, int n, vreal *r2)
{
  if (type == DS_KERNEL_LAPLACE)
    for (int w = 0; w < n; w++) r2[w] = vsqrt(r2[w]);
}

/* Kernel values k = 2^(log2_scale x) for the n vectors of kernel arguments x[0..n)
   (kernel_arguments_n), in place; a_units = EXP2_UNITS log2_scale. */
INLINE void kernel_values_of_arguments_n(int n, vreal a_units, vreal *x)
{
  for (int w = 0; w < n; w++) x[w] *= a_units;
  exp2_units_n(n, x);
}

/* Values k = x^(-beta), x = 1 + r^2 / h^2, of the imq kernel K for one vector of squared
   distances r2. When 2 beta is an integer from 1 to 4 (K->imq_halves; beta = 1/2 by
   default): 1 / (sqrt(x) x^m) for odd 2 beta = 2 m + 1, 1 / x^m for even 2 beta = 2 m, by
   the square root, products and one division, each rounded once: at most 3 roundings (test
   imq_values_within_rounding_bound). Any other beta: pow, lane by lane. */
INLINE vreal imq_values(const DSKernel *K, vreal r2)
{
  const vreal x = splat(1) + splat(K->inv_h2) * r2;
  vreal       p;

  if (!K->imq_halves) {
    p = splat(0); /* lane by lane below; GCC warns of a vector written lane by lane otherwise */
    for (int l = 0; l < LANES; l++) p[l] = pow(x[l], -K->beta);
    return p;
  }
  p = K->imq_halves % 2 ? vsqrt(x) : splat(1);
  for (int m = 2; m <= K->imq_halves; m += 2) p *= x;
  return splat(1) / p;
}

/* Kernel values k = k(r) of a gaussian or laplace kernel for the n vectors of squared
   distances r2[0..n), in place; a_units = EXP2_UNITS log2_scale. */
INLINE void kernel_values_n(DSKernelType type, int n, vreal a_units, vreal *r2)
{
  kernel_arguments_n(type, n, r2);
  kernel_values_of_arguments_n(n, a_units, r2);
}

/* Kernel values of one vector of squared distances r2 (kernel_values_n). */
INLINE vreal kernel_values(DSKernelType type, vreal a_units, vreal r2)
{
  kernel_values_n(type, 1, a_units, &r2);
  return r2;
}

/* Kernel values of any kernel K for the n vectors of kernel arguments x[0..n)
   (kernel_arguments_n: r for laplace, r^2 for the others), in place: the exponential
   (kernel_values_of_arguments_n) or the imq power (imq_values). */
INLINE void any_kernel_values_of_arguments_n(DSKernelType type, const DSKernel *K, int n, vreal a_units, vreal *x)
{
  if (type == DS_KERNEL_IMQ)
    for (int w = 0; w < n; w++) x[w] = imq_values(K, x[w]);
  else kernel_values_of_arguments_n(n, a_units, x);
}

/* The weights k / x, x = 1 + r^2/h^2, of an imq gradient's moments (ds_fused_moment_divided)
   from the kernel values k and the squared distances r2. */
INLINE vreal imq_gradient_weights(const DSKernel *K, vreal k, vreal r2) { return k / (splat(1) + splat(K->inv_h2) * r2); }

/* The D coordinates of point i of block q, in z[0..D). */
INLINE void query_point(int D, const DSBlock *q, PetscInt i, PetscReal *z)
{
  for (int c = 0; c < D; c++) z[c] = q->x[c * q->ld + i];
}

/* The index in block s of query i of block q's own point when `exclude` (the self pair to
   leave out; outside [0, s->n) when s does not hold it), else -1. */
INLINE PetscInt self_index(PetscBool exclude, const DSBlock *q, PetscInt i, const DSBlock *s) { return exclude ? q->start + i - s->start : -1; }

/* z[c] - s_c for the sources [j, j + live), live <= LANES; lanes past `live` hold the
   query itself (difference 0). */
INLINE vreal difference(int c, const DSBlock *s, PetscInt j, int live, const PetscReal *z)
{
  return splat(z[c]) - load_live(s->x + c * s->ld + j, live, z[c]);
}

/* The differences z - s_j of query z and the sources [j, j + live), live <= LANES, in
   d[0..D) (difference). */
INLINE void fused_differences(int D, const DSBlock *s, PetscInt j, int live, const PetscReal *z, vreal *d)
{
  for (int c = 0; c < D; c++) d[c] = difference(c, s, j, live, z);
}

/* Squared distances of query z to the sources [j, j + live), with the differences
   (fused_differences). */
INLINE vreal fused_distances(int D, const DSBlock *s, PetscInt j, int live, const PetscReal *z, vreal *d)
{
  vreal r2;

  fused_differences(D, s, j, live, z, d);
  r2 = d[0] * d[0];
  for (int c = 1; c < D; c++) r2 = vfma(d[c], d[c], r2);
  return r2;
}

/* Source vectors the pair loops over any d (the log-sum-exp and floored loops) take at a
   time (at most EXP2_GROUP_MAX): their exponentials interleaved, independent chains for
   the core's scheduler, and a query coordinate broadcast once per group. */
#define SPAN_GROUP 4

/* The sources [j0, j1) in groups of SPAN_GROUP vectors, then vector by vector, the last
   partial: STEP(j, n, live) for the n vectors from j, live sources in the last (n a
   compile-time constant in each, so that the group's arrays stay in registers). */
#define GROUP_SPAN(j0, j1, STEP) \
  do { \
    PetscInt j_ = (j0); \
    for (; j_ + SPAN_GROUP * LANES <= (j1); j_ += SPAN_GROUP * LANES) STEP(j_, SPAN_GROUP, LANES); \
    for (; j_ < (j1); j_ += LANES) STEP(j_, 1, (int)PetscMin(LANES, (j1) - j_)); \
  } while (0)

/* The live sources of vector w of a group of n from GROUP_SPAN: all LANES but in the last. */
INLINE int group_live(int w, int n, int live) { return w < n - 1 ? LANES : live; }

/* Squared distances r2[0..n) of query z to the n source vectors from j, live <= LANES
   sources in the last (0 in the lanes past it), over the D coordinates: the n distances in
   registers, no vector kept per coordinate, so that any d runs in registers; the moments
   form the differences again (group_moments). The same bits as fused_distances. */
INLINE void group_distances(int D, int n, const DSBlock *s, PetscInt j, int live, const PetscReal *z, vreal *r2)
{
  for (int w = 0; w < n; w++) r2[w] = splat(0);
  for (int c = 0; c < D; c++)
    for (int w = 0; w < n; w++) {
      const vreal d = difference(c, s, j + w * LANES, group_live(w, n, live), z);
      r2[w]         = vfma(d, d, r2[w]);
    }
}

/* m[c] += sum_w f[w] (z[c] - s_c) over the n source vectors from j (group_distances'
   layout), for the D coordinates, w in order. */
INLINE void group_moments(int D, int n, const DSBlock *s, PetscInt j, int live, const PetscReal *z, const vreal *f, vreal *m)
{
  for (int c = 0; c < D; c++) {
    vreal acc = m[c];
    for (int w = 0; w < n; w++) acc = vfma(f[w], difference(c, s, j + w * LANES, group_live(w, n, live), z), acc);
    m[c] = acc;
  }
}

/* Doubles between a copied tile's rows beyond its length: one cache line, so that rows a
   power of two long do not fall in the same sets of the first-level cache, as a block's
   rows, a power of two apart in a run, do. */
#define TILE_PAD 8

/* The tile of a loop that sweeps each tile with every query, for D coordinates, returned,
   and its buffer allocated (freed by the caller): 32 KB of coordinates (the first-level
   cache, where a tile swept again still is), in whole groups of vectors, at least 128
   sources (a query's work per tile, its coordinates gathered and its sums reduced, small
   against its pairs) and at most `most`; rows TILE_PAD longer. Failing to allocate aborts,
   since the pair loops return no error. */
INLINE PetscInt tile_buffer(int D, PetscInt most, PetscReal **buffer)
{
  const PetscInt tile = PetscClipInterval(32768 / (PetscInt)sizeof(PetscReal) / D / (SPAN_GROUP * LANES) * (SPAN_GROUP * LANES), 128, most);

  PetscCallAbort(PETSC_COMM_SELF, PetscMalloc1((size_t)(tile + TILE_PAD) * D, buffer));
  return tile;
}

/* The sources [t0, t0 + tile) of s (fewer at the block's end) copied to buffer
   (copy_padded; tile and buffer from tile_buffer), as a block of their own. */
INLINE DSBlock copy_tile(const DSBlock *s, PetscInt t0, PetscInt tile, PetscReal *buffer)
{
  const PetscInt n = PetscMin(tile, s->n - t0), ld = tile + TILE_PAD;

  for (PetscInt c = 0; c < s->dim; c++) copy_padded(buffer + c * ld, s->x + c * s->ld + t0, n, (n + LANES - 1) / LANES * LANES);
  return (DSBlock){n, s->dim, ld, s->start + t0, buffer, s->weight ? s->weight + t0 : NULL};
}

/* 1 in the lanes [0, live), 0 in the others. */
INLINE vreal live_lanes(int live)
{
  vreal keep = splat(0);
  for (int l = 0; l < live; l++) keep[l] = 1;
  return keep;
}

/* Lane-wise selection: a where mask (a vector comparison's result, all bits set) holds, b
   elsewhere; as bit operations, which GCC compiles to one blend. */
INLINE vreal vselect(vint mask, vreal a, vreal b)
{
  vint ai, bi;
  memcpy(&ai, &a, sizeof(ai));
  memcpy(&bi, &b, sizeof(bi));
  ai = (ai & mask) | (bi & ~mask);
  memcpy(&a, &ai, sizeof(a));
  return a;
}

/* Lane-wise maximum and minimum: a > b ? a : b and a < b ? a : b (b where either is NaN),
   exactly what vmaxpd / vminpd compute, which GCC does not emit for the comparison itself
   (a compare and a blend); the intrinsics where the vector is a machine register. */
#if LANES == 8
INLINE vreal vmax(vreal a, vreal b) { return (vreal)_mm512_max_pd((__m512d)a, (__m512d)b); }
INLINE vreal vmin(vreal a, vreal b) { return (vreal)_mm512_min_pd((__m512d)a, (__m512d)b); }
#elif defined(__AVX__)
INLINE vreal vmax(vreal a, vreal b) { return (vreal)_mm256_max_pd((__m256d)a, (__m256d)b); }
INLINE vreal vmin(vreal a, vreal b) { return (vreal)_mm256_min_pd((__m256d)a, (__m256d)b); }
#else
INLINE vreal vmax(vreal a, vreal b) { return vselect(a > b, a, b); }
INLINE vreal vmin(vreal a, vreal b) { return vselect(a < b, a, b); }
#endif
INLINE vreal vone_where(vint mask) { return vselect(mask, splat(1), splat(0)); }

/* Source vectors the fused loop computes together, their exponentials interleaved step by
   step: one vector's chain of dependent instructions (about 80 cycles on AVX2, 55 on
   AVX-512) is longer than the core's scheduler can hide. AVX2 (Zen 3): 4 for the gaussian,
   and for imq (its square root and divisions: 1.1 to 1.25 times faster than in groups of
   2); 2 for laplace, whose square roots the loop computes a group ahead. AVX-512 (Zen 5):
   2 for the gaussian (1.10x 1 at d = 2, 1.03x 4), 4 for laplace (1.07 to 1.19x 1), 1 for
   imq (groups of 2 and 4 0.75 to 0.95x). */
#define FUSED_GROUP(type) (LANES == 8 ? ((type) == DS_KERNEL_GAUSSIAN ? 2 : (type) == DS_KERNEL_LAPLACE ? 4 : 1) : (type) == DS_KERNEL_LAPLACE ? 2 : 4)

/* The kernel arguments x[0..n) (kernel_arguments_n) of query z and n source vectors from
   j, live <= LANES sources in the last; lanes past `live` hold the query itself. */
INLINE void fused_arguments(DSKernelType type, int D, int n, const DSBlock *s, PetscInt j, int live, const PetscReal *z, vreal *x)
{
  vreal d[3];

  for (int w = 0; w < n; w++) x[w] = fused_distances(D, s, j + w * LANES, w == n - 1 ? live : LANES, z, d);
  kernel_arguments_n(type, n, x);
}

/* Adds the kernel values of the n source vectors from j to v and k (z - s_j) to m, or
   (k / x) (z - s_j) when `divided` (the imq gradient, ds_fused_moment_divided), from their
   kernel arguments x[0..n) (fused_arguments, overwritten); the differences z - s_j are
   computed again here, which keeps them out of registers between the two. */
INLINE void fused_add(DSKernelType type, int D, int n, PetscBool divided, const DSKernel *K, vreal a_units, const DSBlock *s, PetscInt j, int live, const PetscReal *z, vreal *x, vreal *v, vreal *m)
{
  vreal r2[EXP2_GROUP_MAX];

  for (int w = 0; divided && w < n; w++) r2[w] = x[w];
  any_kernel_values_of_arguments_n(type, K, n, a_units, x);
  if (live < LANES) x[n - 1] *= live_lanes(live);
  for (int w = 0; w < n; w++) {
    const vreal f = divided ? imq_gradient_weights(K, x[w], r2[w]) : x[w];
    vreal       d[3];
    fused_differences(D, s, j + w * LANES, w == n - 1 ? live : LANES, z, d);
    *v += x[w];
    for (int c = 0; c < D; c++) m[c] = vfma(f, d[c], m[c]);
  }
}

/* Adds to value and moment[0..D) the fused sums of query z over sources [j0, j1):
   sum_j k and sum_j k (z - s_j), or sum_j (k / x) (z - s_j) when `divided` (fused_add).
   Whole groups are software-pipelined: the next group's kernel arguments (with laplace's
   square roots, 9 cycles each on Zen 3's divider) are computed before the current group's
   exponentials, so the core overlaps them. */
INLINE void fused_span(DSKernelType type, int D, PetscBool divided, const DSKernel *K, vreal a_units, const DSBlock *s, PetscInt j0, PetscInt j1, const PetscReal *z, PetscReal *value, PetscReal *moment)
{
  const int G = FUSED_GROUP(type), step = G * LANES;
  vreal     v = splat(0), m[3] = {splat(0), splat(0), splat(0)}, next[EXP2_GROUP_MAX];
  PetscInt  j = j0;

  if (j + step <= j1) fused_arguments(type, D, G, s, j, LANES, z, next);
  for (; j + step <= j1; j += step) {
    vreal x[EXP2_GROUP_MAX];
    for (int w = 0; w < G; w++) x[w] = next[w];
    if (j + 2 * step <= j1) fused_arguments(type, D, G, s, j + step, LANES, z, next);
    fused_add(type, D, G, divided, K, a_units, s, j, LANES, z, x, &v, m);
  }
  for (; j < j1; j += LANES) {
    const int live = (int)PetscMin(LANES, j1 - j);
    vreal     x;
    fused_arguments(type, D, 1, s, j, live, z, &x);
    fused_add(type, D, 1, divided, K, a_units, s, j, live, z, &x, &v, m);
  }
  *value += lane_sum(v);
  for (int c = 0; c < D; c++) moment[c] += lane_sum(m[c]);
}

/* The sources [j0, j1) other than `self`, as ranges [range[2r], range[2r + 1]) for r below
   the count returned: [j0, self) and [self + 1, j1) when j0 <= self < j1, else [j0, j1)
   alone. The pair loops skip a self pair this way, with no mask in the loop; looping over
   the ranges keeps one inlined copy of the span they call. */
INLINE int ranges_around(PetscInt j0, PetscInt j1, PetscInt self, PetscInt range[4])
{
  const PetscBool split = self >= j0 && self < j1 ? PETSC_TRUE : PETSC_FALSE;

  range[0] = j0, range[1] = split ? self : j1, range[2] = self + 1, range[3] = j1;
  return split ? 2 : 1;
}

/* fused_span over the sources [j0, j1) other than `self` (an index outside the range
   skips nothing). */
INLINE void fused_range(DSKernelType type, int D, PetscBool divided, const DSKernel *K, vreal a_units, const DSBlock *s, PetscInt j0, PetscInt j1, PetscInt self, const PetscReal *z, PetscReal *value, PetscReal *moment)
{
  PetscInt  range[4];
  const int count = ranges_around(j0, j1, self, range);

  for (int r = 0; r < count; r++) fused_span(type, D, divided, K, a_units, s, range[2 * r], range[2 * r + 1], z, value, moment);
}

/* Adds one query's fused sums to the accumulators, the moments times moment_scale. */
INLINE void add_query_sums(DSKernelSums *acc, PetscInt i, int D, PetscReal moment_scale, PetscReal value, const PetscReal *moment)
{
  acc->value[i] += value;
  if (acc->moment)
    for (int c = 0; c < D; c++) acc->moment[c * acc->ld + i] += moment_scale * moment[c];
}

#endif

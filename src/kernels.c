/* Kernel table and the pair micro-kernels (DESIGN.md: kernel table). The pair loops are
   written on GCC vector types of LANES doubles (one AVX-512 register, or 4 doubles
   elsewhere), with no branch that depends on the pair. Every exponential is
   exp2_sixteenths, a branch-free 2^(u/16) from a 16-entry table held in two registers and
   a degree-6 polynomial (relative error 0.57 eps, measured in doc/performance.md), with
   log2(e) and the 16 folded into the kernel's scale. Kernel values below 2^(-1021 - 1/32)
   (1.96 DBL_MIN) of the peak are 0: no sum with a normal term changes, and the vector exp
   need not produce subnormals.

   Three micro-kernels, by what the pair needs:
   - fused (gaussian or laplace value sums, d <= 3, unweighted): per query, one pass over
     the source block, 8 sources per vector, distances, kernel values and sums in registers;
   - wide (the same kernels, d >= 4): 8 queries per vector against a tile of sources, one
     source at a time: squared distances and kernel values, then the moments, 8
     coordinates at a time so that query coordinates and sums stay in registers;
   - tiled (imq, weighted sources, companion sums, laplace gradients): per query, squared
     distances for a tile of sources, then kernel values and weights, then each sum. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "ds_kernels.h"

#define TILE       256 /* sources per tile of the tiled micro-kernel */
#define WIDE_TILE  64  /* sources per tile of the wide micro-kernel: 8 x 64 kernel values, 4 KB */
#define WIDE_CHUNK 8   /* coordinates the wide micro-kernel keeps in registers at once */
/* One vector register of doubles: 8 with AVX-512, else 4 (AVX2 and narrower: GCC splits
   what the machine lacks). */
#if defined(__AVX512F__)
  #define LANES 8
#else
  #define LANES 4
#endif
#define INLINE     static inline __attribute__((always_inline))

/* Every function taking or returning these types is inlined, so GCC's note that their
   calling convention differs without AVX is moot. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef double  vreal __attribute__((vector_size(LANES * sizeof(double))));
typedef int64_t vint __attribute__((vector_size(LANES * sizeof(int64_t))));

/* Lane-wise operations. The loops compile to single vector instructions; fma is explicit
   because -std=c11 does not contract a*b+c. */
INLINE vreal splat(double x)
{
  const vint lane0 = {0};
  return __builtin_shuffle((vreal){x}, lane0);
}
INLINE vreal vfma(vreal a, vreal b, vreal c)
{
  vreal v;
  for (int l = 0; l < LANES; l++) v[l] = fma(a[l], b[l], c[l]);
  return v;
}
INLINE vreal vsqrt(vreal a)
{
  vreal v;
  for (int l = 0; l < LANES; l++) v[l] = sqrt(a[l]);
  return v;
}
INLINE vreal load(const PetscReal *p)
{
  vreal v;
  memcpy(&v, p, sizeof(v));
  return v;
}
/* Lanes [0, live) from p, the others `fill`. */
INLINE vreal load_partial(const PetscReal *p, int live, PetscReal fill)
{
  vreal v = splat(fill);
  for (int l = 0; l < live; l++) v[l] = p[l];
  return v;
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

/* 2 2^(j/16) for j = 0..15, rounded, in two registers, and the relative error of each
   rounding: 2 2^(j/16) = table (1 + error). */
static const double exp2_table[16] = {2.0, 2.0885475648548275, 2.1810154653305154, 2.277577269513383, 2.378414230005442, 2.483715624146968, 2.5936791093020193, 2.7085110938737853,
                                      2.8284271247461903, 2.9536522918789987, 3.0844216508158815, 3.2209806638985086, 3.363585661014858, 3.512504320746599, 3.668016172818685, 3.830413122794295};
static const double exp2_error[16] = {0.0, 8.189317638195515e-17, -2.7939114859515733e-17, 7.826573258636076e-17, 3.3484623336251524e-17, 3.750854201303127e-17, 1.9572585293112036e-17, 5.68648095791174e-17,
                                      -6.835808657661922e-17, -2.3591094770850053e-17, 5.1548301170786783e-17, 1.5341410053603723e-17, 4.875160526227062e-17, 1.685487290628973e-17, 1.790126907604513e-17, -5.545065618639427e-17};

/* Entry j of a 16-entry table, lane by lane: with AVX-512 one two-register permute;
   elsewhere lane-wise loads (narrower machines have no 16-entry permute). */
INLINE vreal table_lookup(const PetscReal *table, vint j)
{
#if LANES == 8
  return __builtin_shuffle(load(table), load(table + 8), j);
#else
  vreal v;
  for (int l = 0; l < LANES; l++) v[l] = table[j[l]];
  return v;
#endif
}

/* 2^(u/16), u = a x, lane by lane, for u <= 0; 0 where that is below 2^(-1021 - 1/32), so
   no result is subnormal. u is rounded to an integer m = 16 n + j (0 <= j < 16) by the
   1.5 2^52 shifter (so it vectorises; its low bits then hold 16 (n + 1022) + j),
   r = u - m exact with |r| <= 1/2, and
   2^(u/16) = 2^(n-1) * 2 2^(j/16) * 2^(r/16): the table entry and its rounding error come
   from two-register permutes indexed by the shifter's low 4 bits, 2^(r/16) - 1 from a
   degree-6 polynomial (Chebyshev fit, error 1.4e-17) whose constant term carries the
   table's rounding error, and 2^(n-1) is built in the exponent bits, set to 0 for
   n <= -1022 by an integer compare and mask. Relative error 0.57 eps (test
   exponential_matches_long_double).
   A u below -2^51 gives 0; an infinite x (a squared distance beyond DBL_MAX) gives NaN,
   which the run's non-finite check reports. */
INLINE vreal exp2_sixteenths(vreal a, vreal x)
{
  const double shifter = 0x1.8p52 + 16 * 1022;
  const vreal  u       = a * x;
  const vreal  shifted = u + shifter;
  const vreal  r       = u - (shifted - shifter);
  vint         bits, index;
  vreal        p, scale;

  memcpy(&bits, &shifted, sizeof(bits)); /* the shifter's bits plus 16 (n + 1022) + j */
  index = bits & 15;
  p     = vfma(r, splat(9.1813349609072544707e-12), splat(1.2716085030349987688e-9));
  p     = vfma(p, r, splat(1.4676100321837673748e-7));
  p     = vfma(p, r, splat(1.3550807777499828836e-5));
  p     = vfma(p, r, splat(9.383847928089873078e-4));
  p     = vfma(p, r, splat(4.3321698784996609583e-2));
  p     = vfma(p, r, table_lookup(exp2_error, index)); /* 2^(r/16) - 1 + error */
  /* The bits of 2^(n-1), that is (n + 1022) << 52: shifting left by 48 drops the shifter's
     bits and j moves below bit 52; 0 unless n + 1022 >= 1. */
  bits = (bits << 48) & (int64_t)0xFFF0000000000000ULL & (bits > 0x4338000000000000LL + 15);
  memcpy(&scale, &bits, sizeof(scale));
  scale *= table_lookup(exp2_table, index);
  return vfma(scale, p, scale);
}

double ds_exp2_nonpositive(double y)
{
  return exp2_sixteenths(splat(16), splat(y))[0];
}

/* Kernel values k_j = k(r_j) of a gaussian or laplace kernel from squared distances r2,
   LANES at a time; a16 = 16 log2_scale. */
INLINE vreal kernel_values(DSKernelType type, vreal a16, vreal r2)
{
  return exp2_sixteenths(a16, type == DS_KERNEL_GAUSSIAN ? r2 : vsqrt(r2));
}

void ds_kernel_setup(DSKernelType type, PetscReal h, PetscReal beta, DSKernel *kernel)
{
  kernel->type   = type;
  kernel->h      = h;
  kernel->beta   = beta;
  kernel->inv_h  = 1.0 / h;
  kernel->inv_h2 = 1.0 / (h * h);
  /* k = 2^(log2_scale r^2) gaussian, 2^(log2_scale r) laplace: log2(e) folded in once;
     imq (a power, not an exponential) has none. */
  kernel->log2_scale = type == DS_KERNEL_GAUSSIAN ? -0.5 * kernel->inv_h2 * M_LOG2E : type == DS_KERNEL_LAPLACE ? -kernel->inv_h * M_LOG2E : NAN;
}

PetscReal ds_kernel_value(const DSKernel *kernel, PetscReal r)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN:
  case DS_KERNEL_LAPLACE: return exp2_sixteenths(splat(16 * kernel->log2_scale), splat(kernel->type == DS_KERNEL_GAUSSIAN ? r * r : r))[0];
  case DS_KERNEL_IMQ: return pow(1.0 + r * r * kernel->inv_h2, -kernel->beta);
  }
  return NAN;
}

PetscReal ds_kernel_gradient_factor(const DSKernel *kernel, PetscReal r)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: return -ds_kernel_value(kernel, r) * kernel->inv_h2;
  case DS_KERNEL_LAPLACE: return r > 0 ? -ds_kernel_value(kernel, r) * kernel->inv_h / r : 0.0;
  case DS_KERNEL_IMQ: return -2.0 * kernel->beta * kernel->inv_h2 * pow(1.0 + r * r * kernel->inv_h2, -kernel->beta - 1.0);
  }
  return NAN;
}

/* Squared distances r2[j] = |z_i - s_{j0 + j}|^2 for the nt points of a tile. */
INLINE void tile_distances(const DSBlock *q, PetscInt i, const DSBlock *s, PetscInt j0, PetscInt nt, PetscReal *restrict r2)
{
  for (PetscInt j = 0; j < nt; j++) r2[j] = 0;
  for (PetscInt c = 0; c < q->dim; c++) {
    const PetscReal  zc = q->x[c * q->ld + i];
    const PetscReal *sc = s->x + c * s->ld + j0;
    for (PetscInt j = 0; j < nt; j++) {
      PetscReal diff = zc - sc[j];
      r2[j]          = fma(diff, diff, r2[j]);
    }
  }
}

/* k[j] = k(r_j) for the n squared distances r2[j] of a gaussian or laplace kernel. */
INLINE void kernel_value_array(DSKernelType type, const DSKernel *K, PetscInt n, const PetscReal *restrict r2, PetscReal *restrict k)
{
  const vreal a16 = splat(16 * K->log2_scale);
  PetscInt    j   = 0;

  for (; j + LANES <= n; j += LANES) {
    const vreal v = kernel_values(type, a16, load(r2 + j));
    memcpy(k + j, &v, sizeof(v));
  }
  if (j < n) {
    const vreal v = kernel_values(type, a16, load_partial(r2 + j, (int)(n - j), 0));
    for (PetscInt l = 0; l < n - j; l++) k[j + l] = v[l];
  }
}

/* Kernel values k of a tile from its squared distances r2. */
INLINE void tile_values(DSKernelType type, const DSKernel *K, PetscInt n, const PetscReal *restrict r2, PetscReal *restrict k)
{
  if (type == DS_KERNEL_IMQ)
    for (PetscInt j = 0; j < n; j++) k[j] = pow(1.0 + K->inv_h2 * r2[j], -K->beta);
  else kernel_value_array(type, K, n, r2, k);
}

/* Kernel values k and pair weights f of a tile from its squared distances r2. */
INLINE void tile_weights(DSKernelType type, DSWeight weight, const DSKernel *K, PetscInt n, const PetscReal *restrict r2, PetscReal *restrict k, PetscReal *restrict f)
{
  tile_values(type, K, n, r2, k);
  if (weight == DS_WEIGHT_VALUE)
    for (PetscInt j = 0; j < n; j++) f[j] = k[j];
  else if (type == DS_KERNEL_GAUSSIAN)
    for (PetscInt j = 0; j < n; j++) f[j] = -K->inv_h2 * k[j];
  else if (type == DS_KERNEL_LAPLACE)
    for (PetscInt j = 0; j < n; j++) {
      PetscReal r = sqrt(r2[j]);
      f[j]        = r > 0 ? -K->inv_h * k[j] / r : 0.0;
    }
  else
    for (PetscInt j = 0; j < n; j++) f[j] = -2.0 * K->beta * K->inv_h2 * k[j] / (1.0 + K->inv_h2 * r2[j]);
}

/* Index within the source tile starting at j0 of query i's own point, or -1. */
static inline PetscInt self_in_tile(const DSBlock *q, PetscInt i, const DSBlock *s, PetscBool exclude, PetscInt j0, PetscInt nt)
{
  const PetscInt j = q->start + i - s->start - j0;
  return exclude && j >= 0 && j < nt ? j : -1;
}

/* The sums micro-kernel for one (kernel, weight) pair; specialised by the constant arguments. */
INLINE void sums_for(DSKernelType type, DSWeight weight, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, DSKernelSums *acc)
{
  const PetscInt moments = acc->moment ? q->dim : 0;
  PetscReal      r2[TILE], k[TILE], f[TILE];

  for (PetscInt i = 0; i < q->n; i++) {
    PetscReal value = 0, companion = 0;

    for (PetscInt j0 = 0; j0 < s->n; j0 += TILE) {
      const PetscInt nt   = PetscMin(TILE, s->n - j0);
      const PetscInt self = self_in_tile(q, i, s, exclude, j0, nt);
      tile_distances(q, i, s, j0, nt, r2);
      tile_weights(type, weight, K, nt, r2, k, f);
      if (self >= 0) k[self] = f[self] = 0;
      if (acc->companion)
#pragma omp simd reduction(+ : companion)
        for (PetscInt j = 0; j < nt; j++) companion += (K->h + sqrt(r2[j])) * k[j] * (s->weight ? s->weight[j0 + j] : 1.0);
      if (s->weight)
        for (PetscInt j = 0; j < nt; j++) {
          k[j] *= s->weight[j0 + j];
          f[j] *= s->weight[j0 + j];
        }
#pragma omp simd reduction(+ : value)
      for (PetscInt j = 0; j < nt; j++) value += k[j];
      for (PetscInt c = 0; c < moments; c++) {
        const PetscReal  zc = q->x[c * q->ld + i];
        const PetscReal *sc = s->x + c * s->ld + j0;
        PetscReal        m  = 0;
#pragma omp simd reduction(+ : m)
        for (PetscInt j = 0; j < nt; j++) m = fma(f[j], zc - sc[j], m);
        acc->moment[c * acc->ld + i] += m;
      }
    }
    acc->value[i] += value;
    if (acc->companion) acc->companion[i] += companion;
  }
}

/* One vector of the fused micro-kernel: query z against sources [j, j + live), live <= LANES,
   adding k to v and k (z - s_j) to m; lanes past `live` hold the query itself and are
   multiplied out. */
INLINE void fused_step(DSKernelType type, int D, vreal a16, const DSBlock *s, PetscInt j, int live, const PetscReal *z, vreal *v, vreal *m)
{
  vreal d[3], r2, k;

  for (int c = 0; c < D; c++) d[c] = splat(z[c]) - (live == LANES ? load(s->x + c * s->ld + j) : load_partial(s->x + c * s->ld + j, live, z[c]));
  r2 = d[0] * d[0];
  for (int c = 1; c < D; c++) r2 = vfma(d[c], d[c], r2);
  k = kernel_values(type, a16, r2);
  if (live < LANES) {
    vreal keep = splat(0);
    for (int l = 0; l < live; l++) keep[l] = 1;
    k *= keep;
  }
  *v += k;
  for (int c = 0; c < D; c++) m[c] = vfma(k, d[c], m[c]);
}

/* Adds to value and moment[0..D) the fused sums of query z over sources [j0, j1):
   sum_j k and sum_j k (z - s_j). */
INLINE void fused_span(DSKernelType type, int D, vreal a16, const DSBlock *s, PetscInt j0, PetscInt j1, const PetscReal *z, PetscReal *value, PetscReal *moment)
{
  vreal    v = splat(0), m[3] = {splat(0), splat(0), splat(0)};
  PetscInt j = j0;

  for (; j + LANES <= j1; j += LANES) fused_step(type, D, a16, s, j, LANES, z, &v, m);
  if (j < j1) fused_step(type, D, a16, s, j, (int)(j1 - j), z, &v, m);
  *value += lane_sum(v);
  for (int c = 0; c < D; c++) moment[c] += lane_sum(m[c]);
}

/* fused_span over the sources [j0, j1) other than `self` (an index outside the range
   skips nothing): the range is split around it, so the loop needs no mask. */
INLINE void fused_range(DSKernelType type, int D, vreal a16, const DSBlock *s, PetscInt j0, PetscInt j1, PetscInt self, const PetscReal *z, PetscReal *value, PetscReal *moment)
{
  if (self >= j0 && self < j1) {
    fused_span(type, D, a16, s, j0, self, z, value, moment);
    fused_span(type, D, a16, s, self + 1, j1, z, value, moment);
  } else fused_span(type, D, a16, s, j0, j1, z, value, moment);
}

/* Adds one query's fused sums to the accumulators, the moments times moment_scale. */
INLINE void add_query_sums(DSKernelSums *acc, PetscInt i, int D, PetscReal moment_scale, PetscReal value, const PetscReal *moment)
{
  acc->value[i] += value;
  if (acc->moment)
    for (int c = 0; c < D; c++) acc->moment[c * acc->ld + i] += moment_scale * moment[c];
}

/* The fused micro-kernel for a gaussian or laplace kernel and D <= 3 coordinates: per
   query, one pass over the source block (two, around the self pair when it is excluded)
   accumulating sum_j k and sum_j k (z - s_j), the latter multiplied by `moment_scale` at
   the end (1 for value weights, -1/h^2 for the gaussian gradient). */
INLINE void fused_sums(DSKernelType type, int D, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  const vreal a16 = splat(16 * K->log2_scale);

  for (PetscInt i = 0; i < q->n; i++) {
    PetscReal z[3], value = 0, moment[3] = {0, 0, 0};
    for (int c = 0; c < D; c++) z[c] = q->x[c * q->ld + i];
    fused_range(type, D, a16, s, 0, s->n, exclude ? q->start + i - s->start : -1, z, &value, moment);
    add_query_sums(acc, i, D, moment_scale, value, moment);
  }
}

/* r2[j] = sum_c (z_c - s_jc)^2 over the W coordinates [c0, c0 + W) for the sources
   [j0, j0 + nt), added to r2[j] unless c0 = 0, with the query vector's coordinates in
   registers and two chains. */
INLINE void wide_distances(int W, const vreal *z, const DSBlock *s, PetscInt c0, PetscInt j0, PetscInt nt, vreal *r2)
{
  const PetscReal *sc[WIDE_CHUNK];
  vreal            zc[WIDE_CHUNK];

  for (int c = 0; c < W; c++) sc[c] = s->x + (c0 + c) * s->ld + j0, zc[c] = z[c0 + c];
  for (PetscInt j = 0; j < nt; j++) {
    vreal even = c0 ? r2[j] : splat(0), odd = splat(0);
#pragma GCC unroll 8
    for (int c = 0; c < W; c += 2) {
      const vreal d = zc[c] - sc[c][j];
      even          = vfma(d, d, even);
      if (c + 1 < W) {
        const vreal e = zc[c + 1] - sc[c + 1][j];
        odd           = vfma(e, e, odd);
      }
    }
    r2[j] = even + odd;
  }
}

/* m_c += sum_j k_j (z_c - s_jc) over the W coordinates [c0, c0 + W) for the sources
   [j0, j0 + nt), with query coordinates and sums in registers. */
INLINE void wide_moments(int W, const vreal *z, const DSBlock *s, PetscInt c0, PetscInt j0, PetscInt nt, const vreal *k, vreal *m)
{
  const PetscReal *sc[WIDE_CHUNK];
  vreal            zc[WIDE_CHUNK], mc[WIDE_CHUNK];

  for (int c = 0; c < W; c++) sc[c] = s->x + (c0 + c) * s->ld + j0, zc[c] = z[c0 + c], mc[c] = m[c0 + c];
  for (PetscInt j = 0; j < nt; j++)
#pragma GCC unroll 8
    for (int c = 0; c < W; c++) mc[c] = vfma(k[j], zc[c] - sc[c][j], mc[c]);
  for (int c = 0; c < W; c++) m[c0 + c] = mc[c];
}

/* wide_distances or wide_moments for the chunk of coordinates starting at c0 (with the
   chunk's width as a compile-time constant). */
static void wide_chunk(PetscBool moments, const vreal *z, const DSBlock *s, PetscInt c0, PetscInt j0, PetscInt nt, vreal *r2_or_k, vreal *m)
{
  switch (PetscMin(WIDE_CHUNK, s->dim - c0)) {
#define DS_WIDE_CHUNK(W) \
  case W: \
    if (moments) wide_moments(W, z, s, c0, j0, nt, r2_or_k, m); \
    else wide_distances(W, z, s, c0, j0, nt, r2_or_k); \
    break;
    DS_WIDE_CHUNK(1) DS_WIDE_CHUNK(2) DS_WIDE_CHUNK(3) DS_WIDE_CHUNK(4) DS_WIDE_CHUNK(5) DS_WIDE_CHUNK(6) DS_WIDE_CHUNK(7) DS_WIDE_CHUNK(8)
#undef DS_WIDE_CHUNK
  }
}

/* The wide micro-kernel for a gaussian or laplace kernel and any number of coordinates:
   LANES queries per vector (the last vector padded with copies of its first query) against
   tiles of WIDE_TILE sources: squared distances chunk by chunk, kernel values (with the
   self pairs set to 0), then the moments chunk by chunk, multiplied by `moment_scale` at
   the end as in the fused micro-kernel. */
INLINE void wide_sums(DSKernelType type, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  const PetscInt dim = q->dim, moments = acc->moment ? dim : 0;
  const vreal    a16 = splat(16 * K->log2_scale);
  vreal          r2_or_k[WIDE_TILE], z[dim], m[dim];

  for (PetscInt i0 = 0; i0 < q->n; i0 += LANES) {
    const int live = (int)PetscMin(LANES, q->n - i0);
    vreal     v    = splat(0);
    for (PetscInt c = 0; c < dim; c++) z[c] = load_partial(q->x + c * q->ld + i0, live, q->x[c * q->ld + i0]), m[c] = splat(0);
    for (PetscInt j0 = 0; j0 < s->n; j0 += WIDE_TILE) {
      const PetscInt nt = PetscMin(WIDE_TILE, s->n - j0);
      for (PetscInt c0 = 0; c0 < dim; c0 += WIDE_CHUNK) wide_chunk(PETSC_FALSE, z, s, c0, j0, nt, r2_or_k, NULL);
      for (PetscInt j = 0; j < nt; j++) r2_or_k[j] = kernel_values(type, a16, r2_or_k[j]);
      for (int l = 0; exclude && l < live; l++) {
        const PetscInt self = q->start + i0 + l - s->start - j0;
        if (self >= 0 && self < nt) r2_or_k[self][l] = 0;
      }
      for (PetscInt j = 0; j < nt; j++) v += r2_or_k[j];
      for (PetscInt c0 = 0; c0 < moments; c0 += WIDE_CHUNK) wide_chunk(PETSC_TRUE, z, s, c0, j0, nt, r2_or_k, m);
    }
    add_partial(acc->value + i0, live, v);
    for (PetscInt c = 0; c < moments; c++) add_partial(acc->moment + c * acc->ld + i0, live, moment_scale * m[c]);
  }
}

/* The factor the fused and wide micro-kernels apply at the end to their sums k (z - s):
   -1/h^2 for the gaussian gradient, 1 for value weights; 0 where they do not apply (imq,
   the laplace gradient, whose factor depends on r). */
static PetscReal fused_moment_scale(const DSKernel *K, DSWeight weight)
{
  if (K->type == DS_KERNEL_GAUSSIAN) return weight == DS_WEIGHT_GRADIENT ? -K->inv_h2 : 1.0;
  return K->type == DS_KERNEL_LAPLACE && weight == DS_WEIGHT_VALUE ? 1.0 : 0.0;
}

/* The fused (d <= 3) or the wide micro-kernel for one kernel type. */
INLINE void vector_sums(DSKernelType type, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  switch (q->dim) {
  case 1: fused_sums(type, 1, K, q, s, exclude, moment_scale, acc); break;
  case 2: fused_sums(type, 2, K, q, s, exclude, moment_scale, acc); break;
  case 3: fused_sums(type, 3, K, q, s, exclude, moment_scale, acc); break;
  default: wide_sums(type, K, q, s, exclude, moment_scale, acc); break;
  }
}

void ds_kernel_sums(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, DSKernelSums *sums)
{
  const PetscReal scale = fused_moment_scale(kernel, weight);

  if (scale != 0 && !source->weight && !sums->companion) {
    if (kernel->type == DS_KERNEL_GAUSSIAN) vector_sums(DS_KERNEL_GAUSSIAN, kernel, query, source, exclude_same_index, scale, sums);
    else vector_sums(DS_KERNEL_LAPLACE, kernel, query, source, exclude_same_index, scale, sums);
    return;
  }
#define DS_DISPATCH_WEIGHT(TYPE) \
  (weight == DS_WEIGHT_VALUE ? sums_for(TYPE, DS_WEIGHT_VALUE, kernel, query, source, exclude_same_index, sums) \
                             : sums_for(TYPE, DS_WEIGHT_GRADIENT, kernel, query, source, exclude_same_index, sums))
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: DS_DISPATCH_WEIGHT(DS_KERNEL_GAUSSIAN); break;
  case DS_KERNEL_LAPLACE: DS_DISPATCH_WEIGHT(DS_KERNEL_LAPLACE); break;
  case DS_KERNEL_IMQ: DS_DISPATCH_WEIGHT(DS_KERNEL_IMQ); break;
  }
#undef DS_DISPATCH_WEIGHT
}

/* Row and column sums for one kernel; specialised by the constant kernel type. */
INLINE void row_column_for(DSKernelType type, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, PetscReal *row, PetscReal *column)
{
  PetscReal r2[TILE], k[TILE];

  for (PetscInt i = 0; i < q->n; i++) {
    PetscReal sum = 0;
    for (PetscInt j0 = 0; j0 < s->n; j0 += TILE) {
      const PetscInt nt   = PetscMin(TILE, s->n - j0);
      const PetscInt self = self_in_tile(q, i, s, exclude, j0, nt);
      tile_distances(q, i, s, j0, nt, r2);
      tile_values(type, K, nt, r2, k);
      if (self >= 0) k[self] = 0;
      for (PetscInt j = 0; j < nt; j++) {
        sum += k[j];
        column[j0 + j] += k[j];
      }
    }
    row[i] += sum;
  }
}

void ds_kernel_row_column_sums(const DSKernel *kernel, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, PetscReal *row, PetscReal *column)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: row_column_for(DS_KERNEL_GAUSSIAN, kernel, query, source, exclude_same_index, row, column); break;
  case DS_KERNEL_LAPLACE: row_column_for(DS_KERNEL_LAPLACE, kernel, query, source, exclude_same_index, row, column); break;
  case DS_KERNEL_IMQ: row_column_for(DS_KERNEL_IMQ, kernel, query, source, exclude_same_index, row, column); break;
  }
}

PetscReal ds_kernel_distance_sum(const DSBlock *query, const DSBlock *source)
{
  PetscReal r2[TILE], sum = 0;

  for (PetscInt i = 0; i < query->n; i++)
    for (PetscInt j0 = 0; j0 < source->n; j0 += TILE) {
      const PetscInt nt = PetscMin(TILE, source->n - j0);
      tile_distances(query, i, source, j0, nt, r2);
      for (PetscInt j = 0; j < nt; j++) sum += sqrt(r2[j]);
    }
  return sum;
}

PetscReal ds_kernel_normalisation(const DSKernel *kernel, PetscInt dim)
{
  const PetscReal d = (PetscReal)dim, log_pi = log(PETSC_PI);

  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: return pow(2.0 * PETSC_PI * kernel->h * kernel->h, 0.5 * d);
  case DS_KERNEL_LAPLACE: return 2.0 * exp(d * log(kernel->h) + 0.5 * d * log_pi + lgamma(d) - lgamma(0.5 * d));
  case DS_KERNEL_IMQ:
    if (!(2.0 * kernel->beta > d)) return INFINITY;
    return exp(d * log(kernel->h) + 0.5 * d * log_pi + lgamma(kernel->beta - 0.5 * d) - lgamma(kernel->beta));
  }
  return NAN;
}

PetscReal ds_kernel_laplacian_at_zero(const DSKernel *kernel, PetscInt dim)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: return -(PetscReal)dim * kernel->inv_h2;
  case DS_KERNEL_LAPLACE: return NAN;
  case DS_KERNEL_IMQ: return -2.0 * kernel->beta * (PetscReal)dim * kernel->inv_h2;
  }
  return NAN;
}

PetscReal ds_kernel_cutoff_radius(const DSKernel *kernel, PetscReal eps)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: return kernel->h * sqrt(2.0 * log(1.0 / eps));
  case DS_KERNEL_LAPLACE: return kernel->h * log(1.0 / eps);
  case DS_KERNEL_IMQ: return INFINITY;
  }
  return INFINITY;
}

/* Index of coordinate value x along axis k of the grid, clamped to the grid: points past
   an edge belong to the edge cell, which is as wide as the others or wider. */
static inline PetscInt cell_index(const DSCells *c, int k, PetscReal x)
{
  const PetscReal f = floor((x - c->origin[k]) / c->cell);
  return f < 0 ? 0 : f >= c->count[k] ? c->count[k] - 1 : (PetscInt)f;
}

PetscErrorCode ds_cells_build(const DSBlock *s, PetscReal radius, DSCells *c)
{
  const PetscInt d = s->dim, n = s->n;
  PetscReal      lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  PetscInt       cells = 1;

  PetscFunctionBeginUser;
  PetscCheck(d >= 1 && d <= 3, PETSC_COMM_SELF, PETSC_ERR_SUP, "cell lists are for dimensions 1 to 3, not %" PetscInt_FMT, d);
  for (PetscInt k = 0; k < d; k++) {
    lo[k] = PETSC_MAX_REAL;
    hi[k] = -PETSC_MAX_REAL;
    for (PetscInt j = 0; j < n; j++) lo[k] = PetscMin(lo[k], s->x[k * s->ld + j]), hi[k] = PetscMax(hi[k], s->x[k * s->ld + j]);
  }
  /* Cells of side at least the radius, doubled until there are at most 4 per point. */
  c->cell = radius;
  do {
    cells = 1;
    for (PetscInt k = 0; k < d; k++) {
      const PetscReal along = n ? floor((hi[k] - lo[k]) / c->cell) : 1;
      c->count[k]           = along < 1 ? 1 : (PetscInt)PetscMin(along, 1 << 20);
      cells *= c->count[k];
    }
    if (cells > PetscMax(4 * n, 64)) c->cell *= 2;
  } while (cells > PetscMax(4 * n, 64));
  for (PetscInt k = 0; k < 3; k++) c->origin[k] = k < d ? lo[k] : 0, c->count[k] = k < d ? c->count[k] : 1;
  c->n     = n;
  c->dim   = d;
  c->start = s->start;
  if (n > c->capacity) {
    PetscCall(PetscFree2(c->x, c->position));
    c->capacity = n;
    PetscCall(PetscMalloc2(d * n, &c->x, n, &c->position));
  }
  if (cells + 1 > c->cell_capacity) {
    PetscCall(PetscFree(c->first));
    c->cell_capacity = cells + 1;
    PetscCall(PetscMalloc1(cells + 1, &c->first));
  }
  /* Counting sort by cell: count, prefix sums, place (advancing first[]), shift back. */
  PetscCall(PetscArrayzero(c->first, cells + 1));
  for (PetscInt j = 0; j < n; j++) {
    PetscInt id = 0;
    for (PetscInt k = d - 1; k >= 0; k--) id = id * c->count[k] + cell_index(c, (int)k, s->x[k * s->ld + j]);
    c->position[j] = id;
    c->first[id + 1]++;
  }
  for (PetscInt id = 0; id < cells; id++) c->first[id + 1] += c->first[id];
  for (PetscInt j = 0; j < n; j++) {
    const PetscInt at = c->first[c->position[j]]++;
    c->position[j]    = at;
    for (PetscInt k = 0; k < d; k++) c->x[k * n + at] = s->x[k * s->ld + j];
  }
  for (PetscInt id = cells; id > 0; id--) c->first[id] = c->first[id - 1];
  c->first[0] = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_cells_destroy(DSCells *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(c->x, c->position));
  PetscCall(PetscFree(c->first));
  c->capacity = c->cell_capacity = 0;
  PetscFunctionReturn(0);
}

/* The fused sums of each query over the rows of cells neighbouring its own (3^(D-1) rows of
   up to 3 cells, each a contiguous range of the sorted block), around its own point. */
INLINE void cells_sums(DSKernelType type, int D, const DSKernel *K, const DSBlock *q, const DSCells *c, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  const vreal     a16    = splat(16 * K->log2_scale);
  const DSBlock   sorted = {c->n, D, c->n, 0, c->x, NULL};

  for (PetscInt i = 0; i < q->n; i++) {
    PetscReal       z[3] = {0, 0, 0}, value = 0, moment[3] = {0, 0, 0};
    for (int k = 0; k < D; k++) z[k] = q->x[k * q->ld + i];
    const PetscInt  own = q->start + i - c->start;
    const PetscInt  self = exclude && own >= 0 && own < c->n ? c->position[own] : -1;
    const PetscInt  cx = cell_index(c, 0, z[0]), cy = D > 1 ? cell_index(c, 1, z[1]) : 0, cz = D > 2 ? cell_index(c, 2, z[2]) : 0;
    for (PetscInt iz = PetscMax(cz - 1, 0); iz <= PetscMin(cz + 1, c->count[2] - 1); iz++)
      for (PetscInt iy = PetscMax(cy - 1, 0); iy <= PetscMin(cy + 1, c->count[1] - 1); iy++) {
        const PetscInt row = (iz * c->count[1] + iy) * c->count[0];
        const PetscInt j0 = c->first[row + PetscMax(cx - 1, 0)], j1 = c->first[row + PetscMin(cx + 1, c->count[0] - 1) + 1];
        fused_range(type, D, a16, &sorted, j0, j1, self, z, &value, moment);
      }
    add_query_sums(acc, i, D, moment_scale, value, moment);
  }
}

PetscBool ds_kernel_cells_apply(const DSKernel *kernel, DSWeight weight, const DSBlock *source, const DSKernelSums *sums)
{
  return fused_moment_scale(kernel, weight) != 0 && !source->weight && !sums->companion && source->dim <= 3 ? PETSC_TRUE : PETSC_FALSE;
}

/* cells_sums for one kernel type, d = 1 to 3. */
INLINE void cells_sums_for(DSKernelType type, const DSKernel *K, const DSBlock *q, const DSCells *c, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  switch (q->dim) {
  case 1: cells_sums(type, 1, K, q, c, exclude, moment_scale, acc); break;
  case 2: cells_sums(type, 2, K, q, c, exclude, moment_scale, acc); break;
  case 3: cells_sums(type, 3, K, q, c, exclude, moment_scale, acc); break;
  }
}

void ds_kernel_sums_cells(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSCells *cells, PetscBool exclude_same_index, DSKernelSums *sums)
{
  const PetscReal scale = fused_moment_scale(kernel, weight);

  if (kernel->type == DS_KERNEL_GAUSSIAN) cells_sums_for(DS_KERNEL_GAUSSIAN, kernel, query, cells, exclude_same_index, scale, sums);
  else cells_sums_for(DS_KERNEL_LAPLACE, kernel, query, cells, exclude_same_index, scale, sums);
}

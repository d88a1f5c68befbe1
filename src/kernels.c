/* Kernel table and the pair micro-kernels (DESIGN.md: kernel table). No branch depends on
   the pair, and every exponential is exp2_nonpositive, a branch-free 2^y the compiler
   vectorises (0.63 ulp, measured in doc/performance.md), with log2(e) folded into the
   kernel's scale. Kernel values below 2^-1021.5 (1.4e-308 of the peak) are 0: no sum
   with a normal term changes, and the vector exp need not produce subnormals.

   The common cases (gaussian or laplace, d <= 3, unweighted sources) take a fused path:
   one SIMD pass over the source block per query point computes distances, kernel values
   and all sums in registers. Every other case walks the source block in tiles: squared
   distances for a tile (unit-stride loops for each coordinate), kernel values and
   weights, then the tile's contribution to each accumulator. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "ds_kernels.h"

#define TILE 256

/* 2^y for finite y <= 0; 0 where 2^y < 2^-1021.5 (1.4 DBL_MIN), so no result is
   subnormal. y = n + f with n the nearest integer (from the 1.5 2^52 shifter, so it
   vectorises) and |f| <= 1/2 exact; 2 2^f by a degree-11 polynomial (Chebyshev fit to
   2^f on [-1/2, 1/2], error 3e-18, coefficients doubled exactly) in Horner's form, times
   2^(n-1) built in the exponent bits from the shifter's own bits and set to 0 for
   n <= -1022 by an integer max. No compare, mask or branch: on this loop each one cost
   10-15%. Error 0.63 ulp (test exponential_matches_long_double). An infinite y (a squared
   distance beyond DBL_MAX) gives NaN, which the run's non-finite check reports. */
static inline __attribute__((always_inline)) double exp2_nonpositive(double y)
{
  const double shifter = 0x1.8p52 + 1022; /* after the sum, its low bits hold n + 1022 */
  const double shifted = y + shifter;
  const double f       = y - (shifted - shifter);
  double       p = 2 * 4.4558179083360645e-10, scale;
  int64_t      e;

  p = fma(p, f, 2 * 7.074194297288521e-09);
  p = fma(p, f, 2 * 1.0178057087733941e-07);
  p = fma(p, f, 2 * 1.3215432535912375e-06);
  p = fma(p, f, 2 * 1.5252733841556773e-05);
  p = fma(p, f, 2 * 0.00015403530463724353);
  p = fma(p, f, 2 * 0.001333355814640647);
  p = fma(p, f, 2 * 0.009618129107587256);
  p = fma(p, f, 2 * 0.055504108664821625);
  p = fma(p, f, 2 * 0.24022650695910158);
  p = fma(p, f, 2 * 0.6931471805599453);
  p = fma(p, f, 2.0);
  memcpy(&e, &shifted, sizeof(e));
  e -= 0x4338000000000000LL;  /* the shifter's own bits: leaves n + 1022 */
  e = (e < 0 ? 0 : e) << 52; /* the bits of 2^(n-1), or of 0 */
  memcpy(&scale, &e, sizeof(scale));
  return p * scale;
}

double ds_exp2_nonpositive(double y)
{
  return exp2_nonpositive(y);
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
  case DS_KERNEL_GAUSSIAN: return exp2_nonpositive(kernel->log2_scale * (r * r));
  case DS_KERNEL_LAPLACE: return exp2_nonpositive(kernel->log2_scale * r);
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
static inline __attribute__((always_inline)) void tile_distances(const DSBlock *q, PetscInt i, const DSBlock *s, PetscInt j0, PetscInt nt, PetscReal *restrict r2)
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

/* Kernel values k and pair weights f of a tile from its squared distances r2. */
static inline __attribute__((always_inline)) void tile_weights(DSKernelType type, DSWeight weight, const DSKernel *K, PetscInt n, const PetscReal *restrict r2, PetscReal *restrict k, PetscReal *restrict f)
{
  switch (type) {
  case DS_KERNEL_GAUSSIAN:
#pragma omp simd
    for (PetscInt j = 0; j < n; j++) k[j] = exp2_nonpositive(K->log2_scale * r2[j]);
    if (weight == DS_WEIGHT_GRADIENT)
      for (PetscInt j = 0; j < n; j++) f[j] = -K->inv_h2 * k[j];
    break;
  case DS_KERNEL_LAPLACE:
#pragma omp simd
    for (PetscInt j = 0; j < n; j++) k[j] = exp2_nonpositive(K->log2_scale * sqrt(r2[j]));
    if (weight == DS_WEIGHT_GRADIENT)
      for (PetscInt j = 0; j < n; j++) {
        PetscReal r = sqrt(r2[j]);
        f[j]        = r > 0 ? -K->inv_h * k[j] / r : 0.0;
      }
    break;
  case DS_KERNEL_IMQ:
    for (PetscInt j = 0; j < n; j++) {
      PetscReal base = 1.0 + K->inv_h2 * r2[j];
      k[j]           = pow(base, -K->beta);
      if (weight == DS_WEIGHT_GRADIENT) f[j] = -2.0 * K->beta * K->inv_h2 * k[j] / base;
    }
    break;
  }
  if (weight == DS_WEIGHT_VALUE)
    for (PetscInt j = 0; j < n; j++) f[j] = k[j];
}

/* Index within the source tile starting at j0 of query i's own point, or -1. */
static inline PetscInt self_in_tile(const DSBlock *q, PetscInt i, const DSBlock *s, PetscBool exclude, PetscInt j0, PetscInt nt)
{
  const PetscInt j = q->start + i - s->start - j0;
  return exclude && j >= 0 && j < nt ? j : -1;
}

/* The sums micro-kernel for one (kernel, weight) pair; specialised by the constant arguments. */
static inline __attribute__((always_inline)) void sums_for(DSKernelType type, DSWeight weight, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, DSKernelSums *acc)
{
  const PetscInt dim = q->dim;
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
      for (PetscInt c = 0; c < dim; c++) {
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

/* The fused micro-kernel for a gaussian or laplace kernel and D <= 3 coordinates: per
   query, one SIMD pass over the source block accumulating sum_j k and sum_j k (z - s_j),
   the latter multiplied by `moment_scale` at the end (1 for value weights, -1/h^2 for the
   gaussian gradient). */
/* Adds to (v, m0, m1, m2) the fused sums of query (z0, z1, z2) over sources [j0, j1). */
static inline __attribute__((always_inline)) void fused_range(DSKernelType type, int D, PetscReal a, const DSBlock *s, PetscInt j0, PetscInt j1, PetscReal z0, PetscReal z1, PetscReal z2, PetscReal *v_, PetscReal *m0_, PetscReal *m1_, PetscReal *m2_)
{
  const PetscReal *s0 = s->x, *s1 = s->x + s->ld, *s2 = s->x + 2 * s->ld;
  PetscReal        v = 0, m0 = 0, m1 = 0, m2 = 0;
#pragma omp simd reduction(+ : v, m0, m1, m2)
  for (PetscInt j = j0; j < j1; j++) {
    const PetscReal d0 = z0 - s0[j], d1 = D > 1 ? z1 - s1[j] : 0, d2 = D > 2 ? z2 - s2[j] : 0;
    /* Explicit fma: -std=c11 does not contract, and D < 3 must not add a "+ 0". */
    const PetscReal r2 = D == 1 ? d0 * d0 : D == 2 ? fma(d1, d1, d0 * d0) : fma(d2, d2, fma(d1, d1, d0 * d0));
    const PetscReal k  = exp2_nonpositive(type == DS_KERNEL_GAUSSIAN ? a * r2 : a * sqrt(r2));
    v += k;
    m0 = fma(k, d0, m0);
    if (D > 1) m1 = fma(k, d1, m1);
    if (D > 2) m2 = fma(k, d2, m2);
  }
  *v_ += v;
  *m0_ += m0;
  *m1_ += m1;
  *m2_ += m2;
}

/* The fused micro-kernel for a gaussian or laplace kernel and D <= 3 coordinates: per
   query, one SIMD pass over the source block (two, around the self pair when it is
   excluded) accumulating sum_j k and sum_j k (z - s_j), the latter multiplied by
   `moment_scale` at the end (1 for value weights, -1/h^2 for the gaussian gradient). */
static inline __attribute__((always_inline)) void fused_sums(DSKernelType type, int D, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  const PetscReal a = K->log2_scale;

  for (PetscInt i = 0; i < q->n; i++) {
    const PetscReal z0 = q->x[i], z1 = D > 1 ? q->x[q->ld + i] : 0, z2 = D > 2 ? q->x[2 * q->ld + i] : 0;
    const PetscInt  self = q->start + i - s->start;
    const PetscBool split = exclude && self >= 0 && self < s->n;
    PetscReal       v = 0, m0 = 0, m1 = 0, m2 = 0;
    fused_range(type, D, a, s, 0, split ? self : s->n, z0, z1, z2, &v, &m0, &m1, &m2);
    if (split) fused_range(type, D, a, s, self + 1, s->n, z0, z1, z2, &v, &m0, &m1, &m2);
    acc->value[i] += v;
    acc->moment[i] += moment_scale * m0;
    if (D > 1) acc->moment[acc->ld + i] += moment_scale * m1;
    if (D > 2) acc->moment[2 * acc->ld + i] += moment_scale * m2;
  }
}

/* Runs the fused micro-kernel when it applies; false otherwise. */
static PetscBool try_fused(const DSKernel *K, DSWeight weight, const DSBlock *q, const DSBlock *s, PetscBool exclude, DSKernelSums *acc)
{
  const PetscBool gradient = weight == DS_WEIGHT_GRADIENT;
  if (s->weight || acc->companion || q->dim > 3) return PETSC_FALSE;
  if (K->type == DS_KERNEL_GAUSSIAN) {
    const PetscReal scale = gradient ? -K->inv_h2 : 1.0;
    switch (q->dim) {
    case 1: fused_sums(DS_KERNEL_GAUSSIAN, 1, K, q, s, exclude, scale, acc); return PETSC_TRUE;
    case 2: fused_sums(DS_KERNEL_GAUSSIAN, 2, K, q, s, exclude, scale, acc); return PETSC_TRUE;
    case 3: fused_sums(DS_KERNEL_GAUSSIAN, 3, K, q, s, exclude, scale, acc); return PETSC_TRUE;
    }
  }
  if (K->type == DS_KERNEL_LAPLACE && !gradient) {
    switch (q->dim) {
    case 1: fused_sums(DS_KERNEL_LAPLACE, 1, K, q, s, exclude, 1.0, acc); return PETSC_TRUE;
    case 2: fused_sums(DS_KERNEL_LAPLACE, 2, K, q, s, exclude, 1.0, acc); return PETSC_TRUE;
    case 3: fused_sums(DS_KERNEL_LAPLACE, 3, K, q, s, exclude, 1.0, acc); return PETSC_TRUE;
    }
  }
  return PETSC_FALSE;
}

void ds_kernel_sums(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, DSKernelSums *sums)
{
  if (try_fused(kernel, weight, query, source, exclude_same_index, sums)) return;
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
static inline __attribute__((always_inline)) void row_column_for(DSKernelType type, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, PetscReal *row, PetscReal *column)
{
  PetscReal r2[TILE], k[TILE], f[TILE];

  for (PetscInt i = 0; i < q->n; i++) {
    PetscReal sum = 0;
    for (PetscInt j0 = 0; j0 < s->n; j0 += TILE) {
      const PetscInt nt   = PetscMin(TILE, s->n - j0);
      const PetscInt self = self_in_tile(q, i, s, exclude, j0, nt);
      tile_distances(q, i, s, j0, nt, r2);
      tile_weights(type, DS_WEIGHT_VALUE, K, nt, r2, k, f);
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
static inline __attribute__((always_inline)) void cells_sums(DSKernelType type, int D, const DSKernel *K, const DSBlock *q, const DSCells *c, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  const PetscReal a      = K->log2_scale;
  const DSBlock   sorted = {c->n, D, c->n, 0, c->x, NULL};

  for (PetscInt i = 0; i < q->n; i++) {
    const PetscReal z0 = q->x[i], z1 = D > 1 ? q->x[q->ld + i] : 0, z2 = D > 2 ? q->x[2 * q->ld + i] : 0;
    const PetscInt  own = q->start + i - c->start;
    const PetscInt  self = exclude && own >= 0 && own < c->n ? c->position[own] : -1;
    const PetscInt  cx = cell_index(c, 0, z0), cy = D > 1 ? cell_index(c, 1, z1) : 0, cz = D > 2 ? cell_index(c, 2, z2) : 0;
    PetscReal       v = 0, m0 = 0, m1 = 0, m2 = 0;
    for (PetscInt iz = PetscMax(cz - 1, 0); iz <= PetscMin(cz + 1, c->count[2] - 1); iz++)
      for (PetscInt iy = PetscMax(cy - 1, 0); iy <= PetscMin(cy + 1, c->count[1] - 1); iy++) {
        const PetscInt row = (iz * c->count[1] + iy) * c->count[0];
        const PetscInt j0 = c->first[row + PetscMax(cx - 1, 0)], j1 = c->first[row + PetscMin(cx + 1, c->count[0] - 1) + 1];
        if (self >= j0 && self < j1) {
          fused_range(type, D, a, &sorted, j0, self, z0, z1, z2, &v, &m0, &m1, &m2);
          fused_range(type, D, a, &sorted, self + 1, j1, z0, z1, z2, &v, &m0, &m1, &m2);
        } else fused_range(type, D, a, &sorted, j0, j1, z0, z1, z2, &v, &m0, &m1, &m2);
      }
    acc->value[i] += v;
    acc->moment[i] += moment_scale * m0;
    if (D > 1) acc->moment[acc->ld + i] += moment_scale * m1;
    if (D > 2) acc->moment[2 * acc->ld + i] += moment_scale * m2;
  }
}

void ds_kernel_sums_cells(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSCells *cells, PetscBool exclude_same_index, DSKernelSums *sums)
{
  const PetscReal scale = weight == DS_WEIGHT_GRADIENT ? -kernel->inv_h2 : 1.0;
#define DS_CELLS_DISPATCH(TYPE) \
  switch (query->dim) { \
  case 1: cells_sums(TYPE, 1, kernel, query, cells, exclude_same_index, scale, sums); break; \
  case 2: cells_sums(TYPE, 2, kernel, query, cells, exclude_same_index, scale, sums); break; \
  case 3: cells_sums(TYPE, 3, kernel, query, cells, exclude_same_index, scale, sums); break; \
  }
  if (kernel->type == DS_KERNEL_GAUSSIAN) DS_CELLS_DISPATCH(DS_KERNEL_GAUSSIAN)
  else DS_CELLS_DISPATCH(DS_KERNEL_LAPLACE)
#undef DS_CELLS_DISPATCH
}

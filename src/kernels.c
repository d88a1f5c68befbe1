/* The pair micro-kernels (DESIGN.md: kernel table), compiled once per ISA level (the
   Makefile's KERNEL_SOURCES; their entry points are suffixed by the level, kernels_isa.h,
   and isa.c calls the selected level's; the kernel table's scalar parts are in
   kernel_table.c). The pair loops are written on GCC vector types of LANES doubles (one
   register: 8 with AVX-512, 4 with AVX2, 2 at the generic level), with no branch that
   depends on the pair. Every exponential is
   exp2_units, a branch-free 2^(u / EXP2_UNITS): on AVX-512 u in sixteenths, a 16-entry
   table held in two registers and a degree-6 polynomial (relative error 0.57 eps); on
   narrower vectors u in binary orders and a degree-11 polynomial (0.60 eps); measured in
   doc/performance.md, with log2(e) and the units folded into the kernel's scale. Kernel
   values below 2^(-1021 - 1/32)
   (1.96 DBL_MIN) of the peak are 0: no sum with a normal term changes, and the vector exp
   need not produce subnormals.

   Three micro-kernels, by what the pair needs:
   - fused (gaussian sums, laplace value sums, imq sums; d <= 3, unweighted): per query, one
     pass over the source block, a register of sources at a time, distances, kernel values
     and sums in registers (the imq gradient's moments weighted by k / x, x = 1 + r^2/h^2);
   - wide (the same sums, d >= 4): blocked as a matrix product, sources in the lanes:
     panels of queries against tiles of sources copied to a buffer, register blocks of
     WIDE_QUERIES queries by 4 source vectors (squared distances over every coordinate,
     kernel values, then the moments);
   - tiled (weighted sources, companion or second-moment sums, the laplace gradient, the
     joint field's row and column sums): per query, squared distances for a tile of sources,
     then kernel values and weights, then each sum. The joint field's exact mode stays
     there so that its results do not change; its floored modes run on the vector layer
     (kernels_floor.c).
   The vector layer and the fused loop live in kernels_vector.h (shared with the floored and
   the log-sum-exp loops); the cell lists' sums, over the lists cells.c builds, are at the
   end; the symmetric micro-kernel, each pair added to both its points, is in
   kernels_symmetric.c. */
#include "kernels_vector.h"

#define TILE       256 /* sources per tile of the tiled micro-kernel */
#define WIDE_TILE_BYTES 8192 /* source coordinates per tile of the wide micro-kernel: with its panel's sums, under the L1 data cache */
#define WIDE_PANEL 30 /* queries per panel of the wide micro-kernel (a multiple of WIDE_QUERIES) */
/* queries of the wide micro-kernel's register block: 6 x 4 vectors of squared distances in
   AVX-512's 32 registers (1.05 to 1.08x 3 x 4 at d = 16 to 64 on Zen 5; 4 and 5 the same),
   3 x 4 in AVX2's 16 */
#define WIDE_QUERIES (LANES == 8 ? 6 : 3)
#define WIDE_VECTORS 4 /* source vectors of its register block (at most EXP2_GROUP_MAX) */
_Static_assert(WIDE_PANEL % WIDE_QUERIES == 0, "a panel of the wide micro-kernel is whole register blocks");

double DS_ISA_ENTRY(ds_exp2_nonpositive)(double y)
{
  return exp2_units(splat(EXP2_UNITS) * splat(y))[0];
}

PetscReal DS_ISA_ENTRY(ds_kernel_value)(const DSKernel *kernel, PetscReal r)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN:
  case DS_KERNEL_LAPLACE: return exp2_units(splat(EXP2_UNITS * kernel->log2_scale) * splat(kernel->type == DS_KERNEL_GAUSSIAN ? r * r : r))[0];
  case DS_KERNEL_IMQ: return imq_values(kernel, splat(r * r))[0];
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

/* Kernel values of one vector of squared distances r2, any kernel. */
INLINE vreal any_kernel_values(DSKernelType type, const DSKernel *K, vreal a_units, vreal r2)
{
  kernel_arguments_n(type, 1, &r2);
  any_kernel_values_of_arguments_n(type, K, 1, a_units, &r2);
  return r2;
}

/* Kernel values k of a tile from its n squared distances r2. */
INLINE void tile_values(DSKernelType type, const DSKernel *K, PetscInt n, const PetscReal *restrict r2, PetscReal *restrict k)
{
  const vreal a_units = splat(EXP2_UNITS * K->log2_scale);
  PetscInt    j       = 0;

  for (; j + LANES <= n; j += LANES) store(k + j, any_kernel_values(type, K, a_units, load(r2 + j)));
  if (j < n) {
    const vreal v = any_kernel_values(type, K, a_units, load_partial(r2 + j, (int)(n - j), 0));
    for (PetscInt l = 0; l < n - j; l++) k[j + l] = v[l];
  }
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
  const PetscInt j = self_index(exclude, q, i, s) - j0; /* negative unless excluded: self_index is -1 */
  return j >= 0 && j < nt ? j : -1;
}

/* The sums micro-kernel for one (kernel, weight) pair; specialised by the constant arguments. */
INLINE void sums_for(DSKernelType type, DSWeight weight, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, DSKernelSums *acc)
{
  const PetscInt moments = acc->moment ? q->dim : 0;
  PetscReal      r2[TILE], k[TILE], f[TILE];

  for (PetscInt i = 0; i < q->n; i++) {
    PetscReal value = 0, companion = 0, second = 0;

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
      if (acc->second)
#pragma omp simd reduction(+ : second)
        for (PetscInt j = 0; j < nt; j++) second += k[j] * r2[j];
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
    if (acc->second) acc->second[i] += second;
  }
}

/* The fused micro-kernel for D <= 3 coordinates: per query, one pass over the source block
   (two, around the self pair when it is excluded) accumulating sum_j k and sum_j k (z - s_j),
   or sum_j (k / x) (z - s_j) when `divided` (the imq gradient), the latter multiplied by
   `moment_scale` at the end (ds_fused_moment_scale). */
INLINE void fused_sums(DSKernelType type, int D, PetscBool divided, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  const vreal a_units = splat(EXP2_UNITS * K->log2_scale);

  for (PetscInt i = 0; i < q->n; i++) {
    PetscReal z[3], value = 0, moment[3] = {0, 0, 0};
    query_point(D, q, i, z);
    fused_range(type, D, divided, K, a_units, s, 0, s->n, self_index(exclude, q, i, s), z, &value, moment);
    add_query_sums(acc, i, D, moment_scale, value, moment);
  }
}

/* Squared distances r2[a][v] = sum_c (z[a][c] - s_c)^2 of the WIDE_QUERIES queries z
   (dim coordinates each, contiguous) to the WIDE_VECTORS vectors of sources from j: the
   distances stay in registers, each query coordinate is broadcast once per WIDE_VECTORS
   vectors and each source vector is loaded once per WIDE_QUERIES queries. */
INLINE void wide_distances(const PetscReal *z, const DSBlock *s, PetscInt j, vreal (*r2)[WIDE_VECTORS])
{
  for (int a = 0; a < WIDE_QUERIES; a++)
    for (int v = 0; v < WIDE_VECTORS; v++) r2[a][v] = splat(0);
  for (PetscInt c = 0; c < s->dim; c++) {
    const PetscReal *sc = s->x + c * s->ld + j;
    vreal            sv[WIDE_VECTORS];
    for (int v = 0; v < WIDE_VECTORS; v++) sv[v] = load(sc + v * LANES);
    for (int a = 0; a < WIDE_QUERIES; a++) {
      const vreal za = splat(z[a * s->dim + c]);
      for (int v = 0; v < WIDE_VECTORS; v++) {
        const vreal d = za - sv[v];
        r2[a][v]      = vfma(d, d, r2[a][v]);
      }
    }
  }
}

/* m[a][c] += sum over the vectors' lanes of k[a][v] (z[a][c] - s_c), for the first
   `moments` coordinates: one vector of partial sums per query and coordinate. */
INLINE void wide_moments(const PetscReal *z, const DSBlock *s, PetscInt j, PetscInt moments, const vreal (*k)[WIDE_VECTORS], vreal *m)
{
  for (PetscInt c = 0; c < moments; c++) {
    const PetscReal *sc = s->x + c * s->ld + j;
    vreal            sv[WIDE_VECTORS];
    for (int v = 0; v < WIDE_VECTORS; v++) sv[v] = load(sc + v * LANES);
    for (int a = 0; a < WIDE_QUERIES; a++) {
      const vreal za = splat(z[a * s->dim + c]);
      vreal       ma = m[a * moments + c];
      for (int v = 0; v < WIDE_VECTORS; v++) ma = vfma(k[a][v], za - sv[v], ma);
      m[a * moments + c] = ma;
    }
  }
}

/* One register block of the wide micro-kernel: the WIDE_QUERIES queries z against the
   WIDE_VECTORS vectors of sources from j, of which the first `valid` are sources (the
   others padding): kernel values (0 for the padding and for source self[a], query a's own
   point), added to v[a], and their moments, weighted by k or by k / x when `divided`
   (fused_add), to m. */
INLINE void wide_block(DSKernelType type, PetscBool divided, const DSKernel *K, vreal a_units, const PetscReal *z, const PetscInt *self, const DSBlock *s, PetscInt j, PetscInt valid, PetscInt moments, vreal *v, vreal *m)
{
  vint  lane; /* lane indices */
  vreal k[WIDE_QUERIES][WIDE_VECTORS], f[WIDE_QUERIES][WIDE_VECTORS];

  for (int l = 0; l < LANES; l++) lane[l] = l;
  wide_distances(z, s, j, k);
  for (int a = 0; a < WIDE_QUERIES; a++) {
    kernel_arguments_n(type, WIDE_VECTORS, k[a]);
    for (int w = 0; divided && w < WIDE_VECTORS; w++) f[a][w] = k[a][w];
    any_kernel_values_of_arguments_n(type, K, WIDE_VECTORS, a_units, k[a]);
  }
  for (int a = 0; a < WIDE_QUERIES; a++) {
    for (int w = 0; w < WIDE_VECTORS && valid < WIDE_VECTORS * LANES; w++) k[a][w] *= live_lanes((int)PetscClipInterval(valid - w * LANES, 0, LANES));
    if (self[a] >= j && self[a] < j + WIDE_VECTORS * LANES)
      for (int w = 0; w < WIDE_VECTORS; w++) k[a][w] = vselect(lane == self[a] - j - w * LANES, splat(0), k[a][w]);
    for (int w = 0; w < WIDE_VECTORS; w++) v[a] += k[a][w];
    for (int w = 0; divided && w < WIDE_VECTORS; w++) f[a][w] = imq_gradient_weights(K, k[a][w], f[a][w]);
  }
  wide_moments(z, s, j, moments, (const vreal(*)[WIDE_VECTORS])(divided ? f : k), m);
}

/* The wide micro-kernel for a gaussian or laplace kernel and any number of coordinates,
   blocked as a matrix product: panels of WIDE_PANEL queries (coordinates copied
   contiguously, padded to whole register blocks with copies of the last query; sums in
   vectors of partial sums) against tiles of about WIDE_TILE_BYTES of source coordinates
   copied to a buffer (a block's coordinate rows, a power of two apart in a run, fall in the
   same few sets of the L1 cache), zero-padded to whole register blocks; the moments
   multiplied by `moment_scale` at the end as in the fused micro-kernel. The tile buffer,
   the panel's sums and its coordinates (about 1.4 KB per coordinate) are on the heap, as
   d may be in the thousands, aligned by hand to a cache line (PetscMalloc gives 16 bytes;
   the sums are vectors, a tile row's loads should not split lines); failing to allocate
   aborts, since the pair loops return no error. */
INLINE void wide_sums(DSKernelType type, PetscBool divided, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  const PetscInt block = WIDE_VECTORS * LANES, dim = q->dim, moments = acc->moment ? dim : 0;
  const PetscInt tile  = PetscMax(block, WIDE_TILE_BYTES / (PetscInt)sizeof(PetscReal) / dim / block * block);
  const vreal    a_units = splat(EXP2_UNITS * K->log2_scale);
  const size_t   buffer_bytes = (size_t)tile * dim * sizeof(PetscReal), sums_bytes = (size_t)WIDE_PANEL * dim * sizeof(vreal); /* both multiples of 64 */
  char          *scratch;
  PetscInt       self[WIDE_PANEL];
  vreal          v[WIDE_PANEL];

  PetscCallAbort(PETSC_COMM_SELF, PetscMalloc1(buffer_bytes + sums_bytes + (size_t)WIDE_PANEL * dim * sizeof(PetscReal) + 64, &scratch));
  PetscReal *const buffer = (PetscReal *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
  vreal *const     m      = (vreal *)((char *)buffer + buffer_bytes);
  PetscReal *const z      = (PetscReal *)((char *)m + sums_bytes);

  for (PetscInt i0 = 0; i0 < q->n; i0 += WIDE_PANEL) {
    const PetscInt np = PetscMin(WIDE_PANEL, q->n - i0), padded = (np + WIDE_QUERIES - 1) / WIDE_QUERIES * WIDE_QUERIES;
    for (PetscInt a = 0; a < padded; a++) {
      v[a] = splat(0);
      for (PetscInt c = 0; c < dim; c++) z[a * dim + c] = q->x[c * q->ld + i0 + PetscMin(a, np - 1)];
      for (PetscInt c = 0; c < moments; c++) m[a * moments + c] = splat(0);
    }
    for (PetscInt j0 = 0; j0 < s->n; j0 += tile) {
      const DSBlock  t = {PetscMin(tile, s->n - j0), dim, tile, s->start + j0, buffer, NULL};
      const PetscInt n = (t.n + block - 1) / block * block;
      for (PetscInt c = 0; c < dim; c++) copy_padded(buffer + c * tile, s->x + c * s->ld + j0, t.n, n);
      for (PetscInt a = 0; a < padded; a++) self[a] = self_index(exclude && a < np ? PETSC_TRUE : PETSC_FALSE, q, i0 + a, &t);
      for (PetscInt a = 0; a < padded; a += WIDE_QUERIES)
        for (PetscInt j = 0; j < n; j += block) wide_block(type, divided, K, a_units, z + a * dim, self + a, &t, j, t.n - j, moments, v + a, m + a * moments);
    }
    for (PetscInt a = 0; a < np; a++) {
      acc->value[i0 + a] += lane_sum(v[a]);
      for (PetscInt c = 0; c < moments; c++) acc->moment[c * acc->ld + i0 + a] += moment_scale * lane_sum(m[a * moments + c]);
    }
  }
  PetscCallAbort(PETSC_COMM_SELF, PetscFree(scratch));
}

/* fused_sums for one kernel type and dimension, compiled as a function of its own (NAME):
   inlined into the dispatching function, its loop shared the registers with that
   function's hoisted invariants (gaussian d = 2 on AVX2: 41 stack references per 4 vectors
   against 21, and 5 to 12% slower at d = 1 to 3). */
#define DS_FUSED_SUMS_FUNCTION(NAME, TYPE, D, DIVIDED) \
  static __attribute__((noinline)) void NAME(const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc) \
  { \
    fused_sums(TYPE, D, DIVIDED, K, q, s, exclude, moment_scale, acc); \
  }
/* NAME_1, NAME_2 and NAME_3: one kernel and moment weight in dimensions 1 to 3. */
#define DS_FUSED_SUMS_FUNCTIONS(NAME, TYPE, DIVIDED) \
  DS_FUSED_SUMS_FUNCTION(NAME##_1, TYPE, 1, DIVIDED) \
  DS_FUSED_SUMS_FUNCTION(NAME##_2, TYPE, 2, DIVIDED) \
  DS_FUSED_SUMS_FUNCTION(NAME##_3, TYPE, 3, DIVIDED)
DS_FUSED_SUMS_FUNCTIONS(fused_sums_gaussian, DS_KERNEL_GAUSSIAN, PETSC_FALSE)
DS_FUSED_SUMS_FUNCTIONS(fused_sums_laplace, DS_KERNEL_LAPLACE, PETSC_FALSE)
DS_FUSED_SUMS_FUNCTIONS(fused_sums_imq, DS_KERNEL_IMQ, PETSC_FALSE)
DS_FUSED_SUMS_FUNCTIONS(fused_sums_imq_gradient, DS_KERNEL_IMQ, PETSC_TRUE)
#undef DS_FUSED_SUMS_FUNCTIONS
#undef DS_FUSED_SUMS_FUNCTION

/* The fused micro-kernels by kernel (gaussian, laplace, imq with value weights, imq
   gradient) and dimension 1 to 3. */
typedef void (*FusedSums)(const DSKernel *, const DSBlock *, const DSBlock *, PetscBool, PetscReal, DSKernelSums *);
#define DS_FUSED_SUMS_DIMENSIONS(NAME) {NAME##_1, NAME##_2, NAME##_3}
static const FusedSums fused_sums_table[4][3] = {DS_FUSED_SUMS_DIMENSIONS(fused_sums_gaussian), DS_FUSED_SUMS_DIMENSIONS(fused_sums_laplace), DS_FUSED_SUMS_DIMENSIONS(fused_sums_imq), DS_FUSED_SUMS_DIMENSIONS(fused_sums_imq_gradient)};
#undef DS_FUSED_SUMS_DIMENSIONS

/* The fused (d <= 3) or the wide micro-kernel for one kernel type, moments weighted by k
   or, when `divided` (the imq gradient), by k / x. */
INLINE void vector_sums(DSKernelType type, PetscBool divided, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  if (q->dim <= 3) fused_sums_table[type == DS_KERNEL_GAUSSIAN ? 0 : type == DS_KERNEL_LAPLACE ? 1 : divided ? 3 : 2][q->dim - 1](K, q, s, exclude, moment_scale, acc);
  else wide_sums(type, divided, K, q, s, exclude, moment_scale, acc);
}

void DS_ISA_ENTRY(ds_kernel_sums)(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, DSKernelSums *sums)
{
  const PetscReal scale = ds_fused_moment_scale(kernel, weight);

  if (scale != 0 && !source->weight && !ds_kernel_sums_extended(sums)) {
    switch (kernel->type) {
    case DS_KERNEL_GAUSSIAN: vector_sums(DS_KERNEL_GAUSSIAN, PETSC_FALSE, kernel, query, source, exclude_same_index, scale, sums); break;
    case DS_KERNEL_LAPLACE: vector_sums(DS_KERNEL_LAPLACE, PETSC_FALSE, kernel, query, source, exclude_same_index, scale, sums); break;
    case DS_KERNEL_IMQ: vector_sums(DS_KERNEL_IMQ, ds_fused_moment_divided(kernel, weight), kernel, query, source, exclude_same_index, scale, sums); break;
    }
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

void DS_ISA_ENTRY(ds_kernel_row_column_sums)(const DSKernel *kernel, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, PetscReal *row, PetscReal *column)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: row_column_for(DS_KERNEL_GAUSSIAN, kernel, query, source, exclude_same_index, row, column); break;
  case DS_KERNEL_LAPLACE: row_column_for(DS_KERNEL_LAPLACE, kernel, query, source, exclude_same_index, row, column); break;
  case DS_KERNEL_IMQ: row_column_for(DS_KERNEL_IMQ, kernel, query, source, exclude_same_index, row, column); break;
  }
}

PetscReal DS_ISA_ENTRY(ds_kernel_distance_sum)(const DSBlock *query, const DSBlock *source)
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

/* The cell lists' sums (cells.c builds the lists). */
/* The fused sums of each query over the rows of cells neighbouring its own (3^(D-1) rows of
   up to 3 cells, each a contiguous range of the sorted block), around its own point. */
INLINE void cells_sums(DSKernelType type, int D, const DSKernel *K, const DSBlock *q, const DSCells *c, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  const vreal     a_units    = splat(EXP2_UNITS * K->log2_scale);
  const DSBlock   sorted = {c->n, D, c->n, 0, c->x, NULL};

  for (PetscInt i = 0; i < q->n; i++) {
    PetscReal       z[3] = {0, 0, 0}, value = 0, moment[3] = {0, 0, 0};
    query_point(D, q, i, z);
    const PetscInt  own = q->start + i - c->start;
    const PetscInt  self = exclude && own >= 0 && own < c->n ? c->position[own] : -1;
    const PetscInt  cx = ds_cell_index(c, 0, z[0]), cy = D > 1 ? ds_cell_index(c, 1, z[1]) : 0, cz = D > 2 ? ds_cell_index(c, 2, z[2]) : 0;
    for (PetscInt iz = PetscMax(cz - 1, 0); iz <= PetscMin(cz + 1, c->count[2] - 1); iz++)
      for (PetscInt iy = PetscMax(cy - 1, 0); iy <= PetscMin(cy + 1, c->count[1] - 1); iy++) {
        const PetscInt row = (iz * c->count[1] + iy) * c->count[0];
        const PetscInt j0 = c->first[row + PetscMax(cx - 1, 0)], j1 = c->first[row + PetscMin(cx + 1, c->count[0] - 1) + 1];
        fused_range(type, D, PETSC_FALSE, K, a_units, &sorted, j0, j1, self, z, &value, moment);
      }
    add_query_sums(acc, i, D, moment_scale, value, moment);
  }
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
void DS_ISA_ENTRY(ds_kernel_sums_cells)(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSCells *cells, PetscBool exclude_same_index, DSKernelSums *sums)
{
  const PetscReal scale = ds_fused_moment_scale(kernel, weight);

  if (kernel->type == DS_KERNEL_GAUSSIAN) cells_sums_for(DS_KERNEL_GAUSSIAN, kernel, query, cells, exclude_same_index, scale, sums);
  else cells_sums_for(DS_KERNEL_LAPLACE, kernel, query, cells, exclude_same_index, scale, sums);
}

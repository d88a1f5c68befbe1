/* The symmetric micro-kernel (doc/design.md, "Kernels"): each pair of points
   computed once and added to both, for the particle sums of the fused micro-kernel's
   kernels (gaussian, laplace, imq; d <= 3, unweighted), on the vector layer and the fused
   loop's distances (kernels_vector.h). Compiled once per ISA level, as kernels.c is (the
   Makefile's KERNEL_SOURCES). */
#include "kernels_vector.h"

#define SYMMETRIC_TILE 256 /* sources per tile of the symmetric micro-kernel: with their partner sums, at most 14 KB */

/* queries sharing each load and store of the partner sums, their exponentials interleaved
   (at most EXP2_GROUP_MAX): 8 in AVX-512's 32 registers (1.05x 4 for the gaussian, 1.10x
   for laplace at d = 2 on Zen 5), 4 in AVX2's 16 */
#define SYMMETRIC_GROUP (LANES == 8 ? 8 : 4)

/* One vector of the symmetric micro-kernel: sources [j, j + live), live <= LANES, against
   the G queries z[0..G): each query's kernel values k added to its v[g] and k (z - s_j),
   or (k / x) (z - s_j) when `divided` (the imq gradient, fused_add), to its m[g]; the same
   values summed over the queries in registers and added once to the sources' partner sums:
   the value, and the moments times partner_scale (the pair's moment seen from the source,
   -1, times the scale the query moments get at the end). Lanes past `live` hold each
   query's own coordinates and are set to 0 by a select (NaN-safe). Compiled once for any
   kernel, dimension, group and lane count: it serves the partial vectors at the ends of
   spans and the diagonal's triangle, the full vectors being symmetric_span's two passes. */
static __attribute__((noinline, noclone)) void symmetric_step(DSKernelType type, int D, int G, PetscBool divided, const DSKernel *K, vreal a_units, vreal partner_scale, const DSBlock *s, PetscInt j, int live, const PetscReal (*z)[3], vreal *v, vreal (*m)[3], DSKernelSums *partner)
{
  vreal pv = splat(0), pm[3] = {splat(0), splat(0), splat(0)}, d[SYMMETRIC_GROUP][3], k[SYMMETRIC_GROUP], r2[SYMMETRIC_GROUP];

  for (int g = 0; g < G; g++) k[g] = r2[g] = fused_distances(D, s, j, live, z[g], d[g]);
  kernel_arguments_n(type, G, k);
  any_kernel_values_of_arguments_n(type, K, G, a_units, k); /* the G queries' exponentials interleaved */
  for (int g = 0; g < G; g++) {
    if (live < LANES) k[g] = vselect(live_lanes(live) > splat(0), k[g], splat(0));
    const vreal f = divided ? imq_gradient_weights(K, k[g], r2[g]) : k[g];
    v[g] += k[g];
    pv += k[g];
    for (int c = 0; c < D; c++) m[g][c] = vfma(f, d[g][c], m[g][c]), pm[c] = vfma(f, d[g][c], pm[c]);
  }
  if (live == LANES) {
    store(partner->value + j, load(partner->value + j) + pv);
    for (int c = 0; partner->moment && c < D; c++) store(partner->moment + c * partner->ld + j, vfma(partner_scale, pm[c], load(partner->moment + c * partner->ld + j)));
  } else {
    add_partial(partner->value + j, live, pv);
    for (int c = 0; partner->moment && c < D; c++) add_partial(partner->moment + c * partner->ld + j, live, partner_scale * pm[c]);
  }
}

/* The kernel arguments (kernel_arguments_n) of the G queries z and the source vector at j. */
INLINE void symmetric_arguments(DSKernelType type, int D, int G, const DSBlock *s, PetscInt j, const PetscReal (*z)[3], vreal *x)
{
  vreal d[3];

  for (int g = 0; g < G; g++) x[g] = fused_distances(D, s, j, LANES, z[g], d);
  kernel_arguments_n(type, G, x);
}

/* The kernel values k[e][g] of the G queries z against the nv full source vectors from j,
   and when `divided` (the imq gradient) the moments' weights f[e][g] = k / x: distances and
   exponentials only (symmetric_span's first pass), software-pipelined as the fused loop
   is: the next vector's arguments (laplace's square roots) before the current one's
   exponentials. */
INLINE void symmetric_values(DSKernelType type, int D, int G, PetscBool divided, const DSKernel *K, vreal a_units, const DSBlock *s, PetscInt j, PetscInt nv, const PetscReal (*z)[3], vreal (*k)[SYMMETRIC_GROUP], vreal (*f)[SYMMETRIC_GROUP])
{
  if (nv > 0) symmetric_arguments(type, D, G, s, j, z, k[0]);
  for (PetscInt e = 0; e < nv; e++) {
    if (e + 1 < nv) symmetric_arguments(type, D, G, s, j + (e + 1) * LANES, z, k[e + 1]);
    for (int g = 0; divided && g < G; g++) f[e][g] = k[e][g];
    any_kernel_values_of_arguments_n(type, K, G, a_units, k[e]);
    for (int g = 0; divided && g < G; g++) f[e][g] = imq_gradient_weights(K, k[e][g], f[e][g]);
  }
}

/* Adds the kernel values k[e][g] of symmetric_values to the queries' value sums v[g] and
   the sources' partner values, and their moments weighted by f[e][g] (k itself, or k / x)
   to m[g] and the partner moments, as symmetric_step does (symmetric_span's second pass).
   The moments subtract f (s - z), so that the query coordinates are memory operands; the
   partner's pointers are locals, which GCC would otherwise reload after every store. */
INLINE void symmetric_add(int D, int G, vreal partner_scale, const DSBlock *s, PetscInt j, PetscInt nv, const PetscReal (*z)[3], const vreal (*k)[SYMMETRIC_GROUP], const vreal (*f)[SYMMETRIC_GROUP], vreal *v, vreal (*m)[3], DSKernelSums *partner)
{
  PetscReal *const pvalue = partner->value, *const pmoment = partner->moment;
  const PetscInt   pld    = partner->ld;

  for (PetscInt e = 0; e < nv; e++)
    for (int g = 0; g < G; g++) v[g] += k[e][g];
  for (PetscInt e = 0; e < nv; e++, j += LANES) {
    vreal sx[3], pv = splat(0), pm[3] = {splat(0), splat(0), splat(0)};
    for (int c = 0; c < D; c++) sx[c] = load(s->x + c * s->ld + j);
    for (int g = 0; g < G; g++) {
      pv += k[e][g];
      for (int c = 0; c < D; c++) {
        const vreal d = sx[c] - splat(z[g][c]);
        m[g][c] = vfnma(f[e][g], d, m[g][c]), pm[c] = vfnma(f[e][g], d, pm[c]);
      }
    }
    store(pvalue + j, load(pvalue + j) + pv);
    for (int c = 0; pmoment && c < D; c++) store(pmoment + c * pld + j, vfma(partner_scale, pm[c], load(pmoment + c * pld + j)));
  }
}

/* Sources [j, j1), at most a tile, against the G queries: the full vectors in two passes,
   the kernel values into a buffer, then the sums (the sums' 3 G + 3 accumulators are then
   not live through the exponentials, as they are in symmetric_step, which spilled a third
   of its instructions on AVX2's 16 registers), then the last partial vector. */
INLINE void symmetric_span(DSKernelType type, int D, int G, PetscBool divided, const DSKernel *K, vreal a_units, vreal partner_scale, const DSBlock *s, PetscInt j, PetscInt j1, const PetscReal (*z)[3], vreal *v, vreal (*m)[3], DSKernelSums *partner)
{
  vreal          k[SYMMETRIC_TILE / LANES][SYMMETRIC_GROUP], f[SYMMETRIC_TILE / LANES][SYMMETRIC_GROUP]; /* 8 KB each (16 KB at avx512), f for the imq gradient */
  const PetscInt nv = (j1 - j) / LANES;

  symmetric_values(type, D, G, divided, K, a_units, s, j, nv, z, k, f);
  symmetric_add(D, G, partner_scale, s, j, nv, z, (const vreal(*)[SYMMETRIC_GROUP])k, (const vreal(*)[SYMMETRIC_GROUP])(divided ? f : k), v, m, partner);
  j += nv * LANES;
  if (j < j1) symmetric_step(type, D, G, divided, K, a_units, partner_scale, s, j, (int)(j1 - j), z, v, m, partner);
}

/* The queries [i0, i0 + G) against the source tile [j0, j1): together over the sources all
   of them pair with (on the diagonal, from i0 + G on), then one by one over the rest of
   their triangle (j > i, before i0 + G: fewer than G sources, in vectors of up to LANES). */
INLINE void symmetric_queries(DSKernelType type, int D, int G, PetscBool divided, const DSKernel *K, vreal a_units, PetscReal moment_scale, const DSBlock *q, const DSBlock *s, PetscInt i0, PetscInt j0, PetscInt j1, PetscBool diagonal, DSKernelSums *acc, DSKernelSums *partner)
{
  const vreal    partner_scale = splat(-moment_scale);
  const PetscInt shared        = diagonal ? PetscMin(PetscMax(j0, i0 + G), j1) : j0;
  PetscReal      z[SYMMETRIC_GROUP][3], moment[3];
  vreal          v[SYMMETRIC_GROUP], m[SYMMETRIC_GROUP][3];

  for (int g = 0; g < G; g++) {
    v[g] = splat(0);
    query_point(D, q, i0 + g, z[g]);
    for (int c = 0; c < D; c++) m[g][c] = splat(0);
  }
  symmetric_span(type, D, G, divided, K, a_units, partner_scale, s, shared, j1, (const PetscReal(*)[3])z, v, m, partner);
  for (int g = 0; diagonal && g < G; g++) {
    for (PetscInt j = PetscMax(j0, i0 + g + 1); j < shared; j += LANES)
      symmetric_step(type, D, 1, divided, K, a_units, partner_scale, s, j, (int)PetscMin(LANES, shared - j), (const PetscReal(*)[3])&z[g], &v[g], &m[g], partner);
  }
  for (int g = 0; g < G; g++) {
    for (int c = 0; c < D; c++) moment[c] = lane_sum(m[g][c]);
    add_query_sums(acc, i0 + g, D, moment_scale, lane_sum(v[g]), moment);
  }
}

/* symmetric_queries for one query, compiled once: the queries left over from the groups. */
static __attribute__((noinline)) void symmetric_query_any(DSKernelType type, int D, PetscBool divided, const DSKernel *K, vreal a_units, PetscReal moment_scale, const DSBlock *q, const DSBlock *s, PetscInt i, PetscInt j0, PetscInt j1, PetscBool diagonal, DSKernelSums *acc, DSKernelSums *partner)
{
  symmetric_queries(type, D, 1, divided, K, a_units, moment_scale, q, s, i, j0, j1, diagonal, acc, partner);
}

/* The symmetric fused micro-kernel: each pair of query i and source j computed once (on the
   diagonal only j > i), added to the query's sums (as fused_sums) and to the source's in
   `partner`; on the diagonal the self pair adds k(0) = 1 unless excluded. Source tiles of
   SYMMETRIC_TILE points outside, groups of SYMMETRIC_GROUP queries inside, so that a tile's
   coordinates and partner sums stay in the first-level cache while every query passes over
   them, and each vector of partner sums is loaded and stored once per group. */
INLINE void symmetric_sums(DSKernelType type, int D, PetscBool divided, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool diagonal, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc, DSKernelSums *partner)
{
  const vreal a_units = splat(EXP2_UNITS * K->log2_scale);

  for (PetscInt i = 0; diagonal && !exclude && i < q->n; i++) acc->value[i] += 1;
  for (PetscInt j0 = 0; j0 < s->n; j0 += SYMMETRIC_TILE) {
    const PetscInt j1 = PetscMin(j0 + SYMMETRIC_TILE, s->n), nq = diagonal ? j1 - 1 : q->n; /* the queries with a pair in the tile */
    PetscInt       i0 = 0;
    for (; i0 + SYMMETRIC_GROUP <= nq; i0 += SYMMETRIC_GROUP) symmetric_queries(type, D, SYMMETRIC_GROUP, divided, K, a_units, moment_scale, q, s, i0, j0, j1, diagonal, acc, partner);
    for (; i0 < nq; i0++) symmetric_query_any(type, D, divided, K, a_units, moment_scale, q, s, i0, j0, j1, diagonal, acc, partner);
  }
}

void DS_ISA_ENTRY(ds_kernel_sums_symmetric)(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool diagonal, PetscBool exclude_self, DSKernelSums *sums, DSKernelSums *partner)
{
  const PetscReal scale = ds_fused_moment_scale(kernel, weight);

#define DS_SYMMETRIC(TYPE, DIVIDED) \
  switch (query->dim) { \
  case 1: symmetric_sums(TYPE, 1, DIVIDED, kernel, query, source, diagonal, exclude_self, scale, sums, partner); break; \
  case 2: symmetric_sums(TYPE, 2, DIVIDED, kernel, query, source, diagonal, exclude_self, scale, sums, partner); break; \
  default: symmetric_sums(TYPE, 3, DIVIDED, kernel, query, source, diagonal, exclude_self, scale, sums, partner); break; \
  }
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: DS_SYMMETRIC(DS_KERNEL_GAUSSIAN, PETSC_FALSE) break;
  case DS_KERNEL_LAPLACE: DS_SYMMETRIC(DS_KERNEL_LAPLACE, PETSC_FALSE) break;
  case DS_KERNEL_IMQ: DS_SYMMETRIC(DS_KERNEL_IMQ, ds_fused_moment_divided(kernel, weight)) break;
  }
#undef DS_SYMMETRIC
}

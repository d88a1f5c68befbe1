/* The Sinkhorn iterations' log-sum-exp pair loops (ds_kernels_lse.h) on the vector layer of
   the micro-kernels (kernels_vector.h). Exponents are held in the exponential's units
   (EXP2_UNITS per binary order), u = EXP2_UNITS log2(e) (w_j - c_ij / eps), so that each
   pair costs one fused multiply-add more than a kernel value, and each term is
   2^((u - shift) / EXP2_UNITS) by the micro-kernels' exp2_units. Per tile of sources and
   query point, one sweep adds the terms with the query's shift and tracks the tile's
   largest exponent; only when that exceeds the shift by more than RAISE_LIMIT (terms
   beyond 2^900) is the shift raised to it, the sums rescaled and the tile swept again. A
   query's first tile sets the shift to its exact maximum first (one sweep of distances and
   a vector maximum). So after the first tile a pass costs one sweep: the shift is the
   largest exponent seen up to 900 binary orders, no term overflows, and no term that
   matters underflows.
   Each tile is copied to a buffer, its rows a cache line longer than the tile (a block's
   rows are usually a power of two apart and fell in the same sets of the first-level
   cache), and sized to that cache for any d; a sweep takes SPAN_GROUP source vectors at a
   time, their squared distances in registers over every coordinate and the differences
   formed again for the moments, so that d > 3 keeps no vector per coordinate. */
#include "kernels_vector.h"
#include "ds_kernels_lse.h"

#define TILE        512   /* sources per tile at most (tile_buffer) */
#define RAISE_LIMIT   (EXP2_UNITS * 900.0)      /* terms up to 2^900 are kept with the current shift */
#define UNITS_PER_NAT (EXP2_UNITS * M_LOG2E) /* natural exponents to the exponential's units */
/* The log-weight of the lanes past a span's end: finite (no NaN from inf - inf), far below
   any real exponent, and its 2^(u / EXP2_UNITS) is 0. */
#define ABSENT (-0x1p1000)

/* Exponents (in the exponential's units) u[0..n) of query z against the n source vectors
   from j, live <= LANES sources in the last, and the factor of the cost's gradient on the
   differences z - s_j in gradient[0..n) (1 for the squared cost, 1 / r for the euclidean
   one, 0 at r = 0); lanes past `live` get the exponent of ABSENT (group_distances).
   a_units is -UNITS_PER_NAT / eps times 1/2 for the squared cost. */
INLINE void lse_exponents(DSSinkhornCost cost, int D, int n, vreal a_units, const DSBlock *s, PetscInt j, int live, const PetscReal *z, vreal *u, vreal *gradient)
{
  group_distances(D, n, s, j, live, z, u);
  for (int w = 0; w < n; w++) {
    const int live_w = group_live(w, n, live);
    vreal     weight;
    if (s->weight) weight = load_live(s->weight + j + w * LANES, live_w, ABSENT);
    else weight = live_w == LANES ? splat(0) : splat(ABSENT) * (splat(1) - live_lanes(live_w));
    weight *= splat(UNITS_PER_NAT);
    if (cost == DS_SINKHORN_COST_SQUARED) {
      gradient[w] = splat(1);
      u[w]        = vfma(a_units, u[w], weight);
    } else {
      const vreal r = vsqrt(u[w]);
      gradient[w]   = vselect(u[w] > 0, splat(1) / r, splat(0));
      u[w]          = vfma(a_units, r, weight);
    }
  }
}

/* The largest exponent (units) of query z over the sources [j0, j1); -INFINITY for an
   empty range. */
INLINE PetscReal span_max(DSSinkhornCost cost, int D, vreal a_units, const DSBlock *s, PetscInt j0, PetscInt j1, const PetscReal *z)
{
  vreal     top = splat(-INFINITY);
  PetscReal m   = -INFINITY;

#define LSE_MAX_STEP(j, n, live) \
  do { \
    vreal u[SPAN_GROUP], gradient[SPAN_GROUP]; \
    lse_exponents(cost, D, n, a_units, s, j, live, z, u, gradient); \
    for (int w = 0; w < (n); w++) top = vmax(top, u[w]); \
  } while (0)
  GROUP_SPAN(j0, j1, LSE_MAX_STEP);
#undef LSE_MAX_STEP
  for (int l = 0; l < LANES; l++) m = PetscMax(m, top[l]);
  return m;
}

/* Adds 2^((u - shift) / EXP2_UNITS) of query z over the sources [j0, j1) to *v and its moments to
   m[0..D), and the lane-wise maximum of the exponents u to *top. */
INLINE void span_sums(DSSinkhornCost cost, int D, vreal a_units, vreal shift, const DSBlock *s, PetscInt j0, PetscInt j1, const PetscReal *z, vreal *v, vreal *m, vreal *top)
{
#define LSE_SUMS_STEP(j, n, live) \
  do { \
    vreal u[SPAN_GROUP], k[SPAN_GROUP], gradient[SPAN_GROUP]; \
    lse_exponents(cost, D, n, a_units, s, j, live, z, u, gradient); \
    for (int w = 0; w < (n); w++) k[w] = u[w] - shift, *top = vmax(*top, u[w]); \
    exp2_units_n(n, k); \
    for (int w = 0; w < (n); w++) *v += k[w], k[w] *= gradient[w]; \
    if (m) group_moments(D, n, s, j, live, z, k, m); \
  } while (0)
  GROUP_SPAN(j0, j1, LSE_SUMS_STEP);
#undef LSE_SUMS_STEP
}

/* The terms of query z over the tile t's sources but `self` (an index outside the tile
   leaves none out) with the shift m_units, in *v and m[0..D) (zeroed first); their largest
   exponent is returned. */
INLINE PetscReal tile_sums(DSSinkhornCost cost, int D, vreal a_units, PetscReal m_units, const DSBlock *t, PetscInt self, const PetscReal *z, vreal *v, vreal *m)
{
  PetscInt  range[4];
  const int count   = ranges_around(0, t->n, self, range);
  vreal     top     = splat(-INFINITY);
  PetscReal largest = -INFINITY;

  *v = splat(0);
  if (m)
    for (int c = 0; c < D; c++) m[c] = splat(0);
  for (int r = 0; r < count; r++) { /* a copy of the loop with moments, one without: neither tests for them */
    if (m) span_sums(cost, D, a_units, splat(m_units), t, range[2 * r], range[2 * r + 1], z, v, m, &top);
    else span_sums(cost, D, a_units, splat(m_units), t, range[2 * r], range[2 * r + 1], z, v, NULL, &top);
  }
  for (int l = 0; l < LANES; l++) largest = PetscMax(largest, top[l]);
  return largest;
}

/* Raises query i's shift to m_units (units), rescaling its sums. */
INLINE void raise_shift(DSLseSums *sums, int D, PetscInt i, PetscReal old_units, PetscReal m_units)
{
  const PetscReal rescale = exp2((old_units - m_units) / EXP2_UNITS); /* 0 before the first terms */

  sums->value[i] *= rescale;
  if (sums->moment)
    for (int c = 0; c < D; c++) sums->moment[c * sums->ld + i] *= rescale;
  sums->max[i] = m_units / UNITS_PER_NAT;
}

INLINE void lse_sums_for(DSSinkhornCost cost, int D, PetscReal epsilon, const DSBlock *q, const DSBlock *s, PetscBool exclude, DSLseSums *sums)
{
  const vreal    a_units = splat(-UNITS_PER_NAT / (cost == DS_SINKHORN_COST_SQUARED ? 2 * epsilon : epsilon));
  PetscReal     *buffer;
  const PetscInt tile = tile_buffer(D, TILE, &buffer);

  for (PetscInt t0 = 0; t0 < s->n; t0 += tile) {
    const DSBlock t = copy_tile(s, t0, tile, buffer);
    for (PetscInt i = 0; i < q->n; i++) {
      const PetscInt self = self_index(exclude, q, i, &t);
      PetscReal      z[D], m_units = sums->max[i] * UNITS_PER_NAT, largest;
      vreal          v, m[D], *moment = sums->moment ? m : NULL;

      query_point(D, q, i, z);
      if (m_units == -INFINITY) { /* the first terms: the shift starts at their exact maximum */
        PetscInt  range[4];
        const int count = ranges_around(0, t.n, self, range);
        largest         = -INFINITY;
        for (int r = 0; r < count; r++) largest = PetscMax(largest, span_max(cost, D, a_units, &t, range[2 * r], range[2 * r + 1], z));
        if (largest == -INFINITY) continue; /* the tile held the query's self pair only */
        raise_shift(sums, D, i, m_units, largest);
        m_units = largest;
      }
      for (int sweep = 0;; sweep++) { /* terms beyond 2^900: raise the shift and sweep once more */
        largest = tile_sums(cost, D, a_units, m_units, &t, self, z, &v, moment);
        if (sweep == 1 || !(largest > m_units + RAISE_LIMIT)) break;
        raise_shift(sums, D, i, m_units, largest);
        m_units = largest;
      }
      sums->value[i] += lane_sum(v);
      if (moment)
        for (int c = 0; c < D; c++) sums->moment[c * sums->ld + i] += lane_sum(m[c]);
    }
  }
  PetscCallAbort(PETSC_COMM_SELF, PetscFree(buffer));
}

void DS_ISA_ENTRY(ds_kernel_lse_sums)(DSSinkhornCost cost, PetscReal epsilon, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, DSLseSums *sums)
{
  /* The block's own dimension, no constant copies: the loop keeps no vector per coordinate,
     and constant d = 1 to 3 were 16% faster at d = 2 (6.05e8 against 5.11e8 pairs/s,
     lse gradient) for 8 s more compile time per level. */
  if (cost == DS_SINKHORN_COST_SQUARED) lse_sums_for(DS_SINKHORN_COST_SQUARED, (int)query->dim, epsilon, query, source, exclude_same_index, sums);
  else lse_sums_for(DS_SINKHORN_COST_EUCLIDEAN, (int)query->dim, epsilon, query, source, exclude_same_index, sums);
}

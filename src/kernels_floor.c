/* The floored modes' pair loops (ds_kernels_floor.h) on the vector layer of the micro-kernels
   (kernels_vector.h): tiles of the source block copied to a buffer (copy_tile), each swept
   by every query SPAN_GROUP vectors of sources at a time (GROUP_SPAN): distances clamped by
   the rule, kernel values (the micro-kernels' exponential and imq power), then the floored
   affinities and their sums in registers, the differences formed again for the moments
   (group_moments). The self pair is split off the vector loop, as in the fused
   micro-kernel, and added on its own at the rule's self distance (its difference z - s is
   0, so it adds to the value sums only). */
#include "kernels_vector.h"
#include "ds_kernels_floor.h"

#define TILE 256 /* sources per tile at most: the affinity sums' column factors on the stack */

/* Kernel values below this are 0, as in the micro-kernels (2^(-1021 - 1/32), doc/design.md):
   no subnormal enters a sum. */
#define KERNEL_SMALLEST 0x1.f50765b6e4540p-1022

/* What the vector loops need of the kernel and the rule. */
typedef struct {
  const DSKernel *kernel;
  vreal           a_units;    /* EXP2_UNITS log2_scale: the exponential kernels' scale */
  vreal           min_r2; /* the rule's clamp of squared distances */
  PetscReal       self;   /* the kernel value of the self pair (at the rule's self distance) */
} RuleValues;

static RuleValues rule_values_setup(const DSKernel *kernel, const DSFloorRule *rule)
{
  return (RuleValues){kernel, splat(EXP2_UNITS * kernel->log2_scale), splat(rule->min_r2), ds_kernel_value(kernel, rule->self_distance)};
}

/* Kernel values k[0..n) of query z and the n source vectors from j (live <= LANES sources
   in the last; 0 in the lanes past it) at the rule's distances sqrt(max(r^2, min_r2)). */
INLINE void rule_values(DSKernelType type, int D, int n, const RuleValues *rv, const DSBlock *s, PetscInt j, int live, const PetscReal *z, vreal *k)
{
  group_distances(D, n, s, j, live, z, k);
  for (int w = 0; w < n; w++) k[w] = vmax(k[w], rv->min_r2);
  kernel_arguments_n(type, n, k);
  any_kernel_values_of_arguments_n(type, rv->kernel, n, rv->a_units, k);
  for (int w = 0; type == DS_KERNEL_IMQ && w < n; w++) k[w] = vselect(k[w] < splat(KERNEL_SMALLEST), splat(0), k[w]); /* the exponential flushes its own */
  if (live < LANES) k[n - 1] *= live_lanes(live);
}

/* Adds one vector's kernel values k of sources [j, j + live) to the query's row sum v and
   to column[j, j + live). */
INLINE void add_row_column(vreal k, PetscInt j, int live, vreal *v, PetscReal *column)
{
  *v += k;
  if (live == LANES) store(column + j, load(column + j) + k);
  else add_partial(column + j, live, k);
}

/* Row and column sums of query z against the sources [j0, j1). */
INLINE void rule_row_column_span(DSKernelType type, int D, const RuleValues *rv, const DSBlock *s, PetscInt j0, PetscInt j1, const PetscReal *z, PetscReal *row, PetscReal *column)
{
  vreal v = splat(0);

#define ROW_COLUMN_STEP(j, n, live) \
  do { \
    vreal k[SPAN_GROUP]; \
    rule_values(type, D, n, rv, s, j, live, z, k); \
    for (int w = 0; w < (n); w++) add_row_column(k[w], (j) + w * LANES, group_live(w, n, live), &v, column); \
  } while (0)
  GROUP_SPAN(j0, j1, ROW_COLUMN_STEP);
#undef ROW_COLUMN_STEP
  *row += lane_sum(v);
}

INLINE void row_column_for(DSKernelType type, int D, const RuleValues *rv, const DSBlock *q, const DSBlock *s, PetscBool self_pairs, PetscReal *row, PetscReal *column)
{
  PetscReal     *buffer;
  const PetscInt tile = tile_buffer(D, TILE, &buffer);

  for (PetscInt t0 = 0; t0 < s->n; t0 += tile) {
    const DSBlock t = copy_tile(s, t0, tile, buffer);
    for (PetscInt i = 0; i < q->n; i++) {
      const PetscInt self = self_index(self_pairs, q, i, &t);
      PetscReal      z[D];
      query_point(D, q, i, z);
      PetscInt  range[4];
      const int count = ranges_around(0, t.n, self, range);
      for (int r = 0; r < count; r++) rule_row_column_span(type, D, rv, &t, range[2 * r], range[2 * r + 1], z, row + i, column + t0);
      if (count == 2) { /* the self pair, at the rule's self distance */
        row[i] += rv->self;
        column[t0 + self] += rv->self;
      }
    }
  }
  PetscCallAbort(PETSC_COMM_SELF, PetscFree(buffer));
}

/* BODY(TYPE, D) over the kernel types, D the block's own: the loops keep no vector per
   coordinate, so a constant D saves little (5% of the multitemperature field at d = 2),
   and each constant copy of the loops costs 3 s of compile time per ISA level. */
#define DS_FLOOR_DISPATCH(kernel_type, dim, BODY) \
  switch (kernel_type) { \
  case DS_KERNEL_GAUSSIAN: BODY(DS_KERNEL_GAUSSIAN, (int)(dim)); break; \
  case DS_KERNEL_LAPLACE: BODY(DS_KERNEL_LAPLACE, (int)(dim)); break; \
  case DS_KERNEL_IMQ: BODY(DS_KERNEL_IMQ, (int)(dim)); break; \
  }

void DS_ISA_ENTRY(ds_kernel_floor_row_column_sums)(const DSKernel *kernel, const DSFloorRule *rule, const DSBlock *query, const DSBlock *source, PetscBool self_pairs, PetscReal *row, PetscReal *column)
{
  const RuleValues rv = rule_values_setup(kernel, rule);
#define DS_ROW_COLUMN(TYPE, D) row_column_for(TYPE, D, &rv, query, source, self_pairs, row, column)
  DS_FLOOR_DISPATCH(kernel->type, query->dim, DS_ROW_COLUMN);
#undef DS_ROW_COLUMN
}

/* The affinities are A = w k g(a b k) with a = 1 / sqrt(R) for the query row and
   b = 1 / sqrt(C) for the source column:
     tutorial     A = w k min(a b, 1e6)          (= w K / sqrt(max(R C, 1e-12))), at the floor
                  when a b > 1e6 and k > 0 (a, b infinite for an empty row or column);
     large scale  A = w max(a b k, 1e-3)          (= w sqrt(max(p q, 1e-6))), at the floor when
                  a b k < 1e-3 (a, b zero for an empty row or column, as p, q are then 0).
   `floored` is 1 in the lanes at the floor, 0 elsewhere. */
INLINE vreal floored_affinities(DSJointFloor floor, vreal k, vreal ab, vreal w, vreal *floored)
{
  vreal a, f;

  if (floor == DS_JOINT_FLOOR_TUTORIAL) {
    a = w * k * vmin(ab, splat(1.0 / PetscSqrtReal(DS_TUTORIAL_NORMALISER_FLOOR)));
    f = vone_where((ab * splat(PetscSqrtReal(DS_TUTORIAL_NORMALISER_FLOOR)) > splat(1.0)) & (k > splat(0)));
  } else {
    const vreal abk = ab * k;
    a               = w * vmax(abk, splat(PetscSqrtReal(DS_LARGE_SCALE_AFFINITY_FLOOR)));
    f = vone_where(abk < splat(PetscSqrtReal(DS_LARGE_SCALE_AFFINITY_FLOOR)));
  }
  *floored = f;
  return a;
}

/* The per-query accumulators of the affinity sums (in registers for small d); moment has
   d entries. */
typedef struct {
  vreal  value, floor_value, floor_pairs;
  vreal *moment;
} AffinityAccumulators;

/* Adds the floored affinities of query z (row factor a) against the sources [j0, j1) of a
   tile, whose column factors b and weights w are indexed as the tile's sources. */
INLINE void affinity_span(DSKernelType type, int D, DSJointFloor floor, const RuleValues *rv, const DSBlock *t, PetscInt j0, PetscInt j1, const PetscReal *z, PetscReal a, const PetscReal *b, const PetscReal *w, AffinityAccumulators *acc)
{
#define AFFINITY_STEP(j, n, live) \
  do { \
    vreal k[SPAN_GROUP]; \
    rule_values(type, D, n, rv, t, j, live, z, k); \
    for (int w_ = 0; w_ < (n); w_++) { \
      const PetscInt jw     = (j) + w_ * LANES; \
      const int      live_w = group_live(w_, n, live); \
      vreal          floored; \
      const vreal    bj = load_live(b + jw, live_w, 0); \
      const vreal    wj = load_live(w + jw, live_w, 0); \
      k[w_]             = floored_affinities(floor, k[w_], splat(a) * bj, wj, &floored); \
      if (live_w < LANES) floored *= live_lanes(live_w); \
      acc->value += k[w_]; \
      acc->floor_value += k[w_] * floored; \
      acc->floor_pairs += floored; \
    } \
    group_moments(D, n, t, j, live, z, k, acc->moment); \
  } while (0)
  GROUP_SPAN(j0, j1, AFFINITY_STEP);
#undef AFFINITY_STEP
}

/* The row factor a = 1 / sqrt(R) or the column factor b = 1 / sqrt(C) of a sum, for an
   empty row or column: infinite for the tutorial (its floor then holds), 0 for the large
   scale (p or q is then 0). */
static inline PetscReal normaliser_factor(DSJointFloor floor, PetscReal sum)
{
  return sum > 0 ? 1.0 / PetscSqrtReal(sum) : floor == DS_JOINT_FLOOR_TUTORIAL ? PETSC_INFINITY : 0.0;
}

INLINE void affinity_sums_for(DSKernelType type, int D, DSJointFloor floor, const RuleValues *rv, const DSBlock *q, const PetscReal *row_sums, const DSBlock *s, const PetscReal *column_sums, const PetscReal *column_weights, PetscBool self_pairs, DSFloorSums *sums)
{
  PetscReal      b[TILE], *buffer;
  const PetscInt tile = tile_buffer(D, TILE, &buffer);

  for (PetscInt t0 = 0; t0 < s->n; t0 += tile) {
    const DSBlock t = copy_tile(s, t0, tile, buffer);
    for (PetscInt j = 0; j < t.n; j++) b[j] = normaliser_factor(floor, column_sums[t0 + j]);
    for (PetscInt i = 0; i < q->n; i++) {
      const PetscInt       self = self_index(self_pairs, q, i, &t);
      const PetscReal      a    = normaliser_factor(floor, row_sums[i]);
      vreal                moment[D];
      AffinityAccumulators acc = {splat(0), splat(0), splat(0), moment};
      PetscReal            z[D];
      query_point(D, q, i, z);
      for (int c = 0; c < D; c++) moment[c] = splat(0);
      PetscInt  range[4];
      const int count = ranges_around(0, t.n, self, range);
      for (int r = 0; r < count; r++) affinity_span(type, D, floor, rv, &t, range[2 * r], range[2 * r + 1], z, a, b, column_weights + t0, &acc);
      if (count == 2) { /* the self pair, at the rule's self distance */
        vreal       floored;
        const vreal aff = floored_affinities(floor, splat(rv->self), splat(a * b[self]), splat(column_weights[t0 + self]), &floored);
        sums->value[i] += aff[0];
        sums->floor_value[i] += aff[0] * floored[0];
        sums->floor_pairs += floored[0];
      }
      sums->value[i] += lane_sum(acc.value);
      sums->floor_value[i] += lane_sum(acc.floor_value);
      sums->floor_pairs += lane_sum(acc.floor_pairs);
      for (int c = 0; c < D; c++) sums->moment[c * sums->ld + i] += lane_sum(acc.moment[c]);
    }
  }
  PetscCallAbort(PETSC_COMM_SELF, PetscFree(buffer));
}

void DS_ISA_ENTRY(ds_kernel_floor_sums)(const DSKernel *kernel, const DSFloorRule *rule, const DSBlock *query, const PetscReal *row_sums, const DSBlock *source, const PetscReal *column_sums, const PetscReal *column_weights, PetscBool self_pairs, DSFloorSums *sums)
{
  const RuleValues rv = rule_values_setup(kernel, rule);
#define DS_AFFINITY_SUMS(TYPE, D) \
  (rule->floor == DS_JOINT_FLOOR_TUTORIAL ? affinity_sums_for(TYPE, D, DS_JOINT_FLOOR_TUTORIAL, &rv, query, row_sums, source, column_sums, column_weights, self_pairs, sums) \
                                          : affinity_sums_for(TYPE, D, DS_JOINT_FLOOR_LARGE_SCALE, &rv, query, row_sums, source, column_sums, column_weights, self_pairs, sums))
  DS_FLOOR_DISPATCH(kernel->type, query->dim, DS_AFFINITY_SUMS);
#undef DS_AFFINITY_SUMS
}

/* sum_j w_j sqrt(max(r^2, min_r2)) of query z over the sources [j0, j1). */
INLINE vreal distance_span(int D, vreal min_r2, const DSBlock *s, PetscInt j0, PetscInt j1, const PetscReal *z)
{
  vreal sum = splat(0);

#define DISTANCE_STEP(j, n, live) \
  do { \
    vreal r2[SPAN_GROUP]; \
    group_distances(D, n, s, j, live, z, r2); \
    for (int w = 0; w < (n); w++) { \
      const PetscInt jw     = (j) + w * LANES; \
      const int      live_w = group_live(w, n, live); \
      const vreal    weight = s->weight ? load_live(s->weight + jw, live_w, 0) : live_lanes(live_w); \
      sum                   = vfma(weight, vsqrt(vmax(r2[w], min_r2)), sum); \
    } \
  } while (0)
  GROUP_SPAN(j0, j1, DISTANCE_STEP);
#undef DISTANCE_STEP
  return sum;
}

INLINE PetscReal distance_sum_for(int D, const DSBlock *q, const DSBlock *s, PetscReal min_r2)
{
  vreal          sum = splat(0);
  PetscReal     *buffer;
  const PetscInt tile = tile_buffer(D, TILE, &buffer);

  for (PetscInt t0 = 0; t0 < s->n; t0 += tile) {
    const DSBlock t = copy_tile(s, t0, tile, buffer);
    for (PetscInt i = 0; i < q->n; i++) {
      PetscReal z[D];
      query_point(D, q, i, z);
      sum += distance_span(D, splat(min_r2), &t, 0, t.n, z);
    }
  }
  PetscCallAbort(PETSC_COMM_SELF, PetscFree(buffer));
  return lane_sum(sum);
}

PetscReal DS_ISA_ENTRY(ds_kernel_floor_distance_sum)(const DSBlock *query, const DSBlock *source, PetscReal min_r2)
{
  return distance_sum_for((int)query->dim, query, source, min_r2);
}

/* The floored modes' pair loops (ds_kernels_floor.h): for each query point, the source
   block in tiles of TILE points: squared distances, the rule's distances and kernel values
   for the tile, then the floor pair by pair. Correct and simple, with libm's exp and pow;
   the vector micro-kernels are in kernels.c. */
#include <math.h>
#include "ds_kernels_floor.h"

#define TILE 256

/* Kernel values below this are 0, as in the micro-kernels (2^(-1021 - 1/32), doc/design.md):
   no subnormal enters a sum. */
#define KERNEL_SMALLEST 0x1.f50765b6e4540p-1022

DSFloorRule ds_floor_rule(DSJointFloor floor, PetscReal unit)
{
  if (floor == DS_JOINT_FLOOR_LARGE_SCALE) return (DSFloorRule){floor, DS_LARGE_SCALE_MIN_R2, PetscSqrtReal(DS_LARGE_SCALE_MIN_R2) + DS_LARGE_SCALE_SELF_OFFSET * unit};
  return (DSFloorRule){floor, 0.0, DS_TUTORIAL_SELF_DISTANCE};
}

/* Squared distances r2[j] of query point i to the nt source points from j0. */
static void tile_squared_distances(const DSBlock *q, PetscInt i, const DSBlock *s, PetscInt j0, PetscInt nt, PetscReal *r2)
{
  for (PetscInt j = 0; j < nt; j++) r2[j] = 0;
  for (PetscInt c = 0; c < q->dim; c++) {
    const PetscReal  zc = q->x[c * q->ld + i];
    const PetscReal *sc = s->x + c * s->ld + j0;
    for (PetscInt j = 0; j < nt; j++) r2[j] += (zc - sc[j]) * (zc - sc[j]);
  }
}

/* k[j] = k(r_j) for the nt pairs of query point i and the tile from j0 under the rule: the
   rule's self distance for the self pair (the same global index, with self_pairs), the
   distance sqrt(max(r^2, min_r2)) otherwise. */
static void tile_kernel_values(const DSKernel *kernel, const DSFloorRule *rule, const DSBlock *q, PetscInt i, const DSBlock *s, PetscInt j0, PetscInt nt, PetscBool self_pairs, PetscReal *k)
{
  const PetscInt self = self_pairs ? q->start + i - s->start - j0 : -1;

  tile_squared_distances(q, i, s, j0, nt, k);
  for (PetscInt j = 0; j < nt; j++) {
    const PetscReal r = j == self ? rule->self_distance : PetscSqrtReal(PetscMax(k[j], rule->min_r2));
    switch (kernel->type) {
    case DS_KERNEL_GAUSSIAN: k[j] = exp(-0.5 * r * r * kernel->inv_h2); break;
    case DS_KERNEL_LAPLACE: k[j] = exp(-r * kernel->inv_h); break;
    case DS_KERNEL_IMQ: k[j] = pow(1.0 + r * r * kernel->inv_h2, -kernel->beta); break;
    }
    if (k[j] < KERNEL_SMALLEST) k[j] = 0;
  }
}

void ds_kernel_floor_row_column_sums(const DSKernel *kernel, const DSFloorRule *rule, const DSBlock *query, const DSBlock *source, PetscBool self_pairs, PetscReal *row, PetscReal *column)
{
  PetscReal k[TILE];

  for (PetscInt j0 = 0; j0 < source->n; j0 += TILE) {
    const PetscInt nt = PetscMin(TILE, source->n - j0);
    for (PetscInt i = 0; i < query->n; i++) {
      PetscReal sum = 0;
      tile_kernel_values(kernel, rule, query, i, source, j0, nt, self_pairs, k);
      for (PetscInt j = 0; j < nt; j++) {
        sum += k[j];
        column[j0 + j] += k[j];
      }
      row[i] += sum;
    }
  }
}

/* The affinity of a pair with kernel value k, row sum r, column sum c and column weight w
   under the rule's floor; *floored tells whether the floor set it. */
static inline PetscReal floored_affinity(DSJointFloor floor, PetscReal k, PetscReal r, PetscReal c, PetscReal w, PetscBool *floored)
{
  if (floor == DS_JOINT_FLOOR_TUTORIAL) {
    const PetscReal rc = r * c;
    *floored           = (rc < DS_TUTORIAL_NORMALISER_FLOOR && k > 0) ? PETSC_TRUE : PETSC_FALSE;
    return w * k / PetscSqrtReal(PetscMax(rc, DS_TUTORIAL_NORMALISER_FLOOR));
  }
  const PetscReal p = r > 0 ? k / r : 0.0, q = c > 0 ? k / c : 0.0, pq = p * q;
  *floored = pq < DS_LARGE_SCALE_AFFINITY_FLOOR ? PETSC_TRUE : PETSC_FALSE;
  return w * PetscSqrtReal(PetscMax(pq, DS_LARGE_SCALE_AFFINITY_FLOOR));
}

void ds_kernel_floor_sums(const DSKernel *kernel, const DSFloorRule *rule, const DSBlock *query, const PetscReal *row_sums, const DSBlock *source, const PetscReal *column_sums, const PetscReal *column_weights, PetscBool self_pairs, DSFloorSums *sums)
{
  const PetscInt d = query->dim;
  PetscReal      a[TILE];

  for (PetscInt j0 = 0; j0 < source->n; j0 += TILE) {
    const PetscInt nt = PetscMin(TILE, source->n - j0);
    for (PetscInt i = 0; i < query->n; i++) {
      PetscReal value = 0, floor_value = 0;
      tile_kernel_values(kernel, rule, query, i, source, j0, nt, self_pairs, a);
      for (PetscInt j = 0; j < nt; j++) {
        PetscBool floored;
        a[j] = floored_affinity(rule->floor, a[j], row_sums[i], column_sums[j0 + j], column_weights[j0 + j], &floored);
        value += a[j];
        if (floored) {
          floor_value += a[j];
          sums->floor_pairs += 1;
        }
      }
      sums->value[i] += value;
      sums->floor_value[i] += floor_value;
      for (PetscInt c = 0; c < d; c++) {
        const PetscReal  zc = query->x[c * query->ld + i];
        const PetscReal *sc = source->x + c * source->ld + j0;
        PetscReal        m  = 0;
        for (PetscInt j = 0; j < nt; j++) m += a[j] * (zc - sc[j]);
        sums->moment[c * sums->ld + i] += m;
      }
    }
  }
}

PetscReal ds_kernel_floor_distance_sum(const DSBlock *query, const DSBlock *source, PetscReal min_r2)
{
  PetscReal r2[TILE], sum = 0;

  for (PetscInt j0 = 0; j0 < source->n; j0 += TILE) {
    const PetscInt nt = PetscMin(TILE, source->n - j0);
    for (PetscInt i = 0; i < query->n; i++) {
      tile_squared_distances(query, i, source, j0, nt, r2);
      for (PetscInt j = 0; j < nt; j++) sum += (source->weight ? source->weight[j0 + j] : 1.0) * PetscSqrtReal(PetscMax(r2[j], min_r2));
    }
  }
  return sum;
}

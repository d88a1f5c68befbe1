/* The pair loops of the joint fields' floored modes (SCIENCE.md, "The official codes'
   floors"): row and column kernel sums with the floors' distances, the floored affinity
   sums of the second pass, and weighted distance sums. A plain tiled loop over pairs, kept
   apart from the vector micro-kernels of kernels.c (the exact joint field stays there). */
#ifndef DS_KERNELS_FLOOR_H
#define DS_KERNELS_FLOOR_H

#include "ds_kernels.h"

/* The floors' constants, as the authors' codes have them. */
#define DS_TUTORIAL_NORMALISER_FLOOR  1e-12 /* A = K / sqrt(max(R C, 1e-12)) */
#define DS_TUTORIAL_SELF_DISTANCE     1e6   /* the self pair's masking distance */
#define DS_LARGE_SCALE_AFFINITY_FLOOR 1e-6  /* A = w sqrt(max(p q, 1e-6)) */
#define DS_LARGE_SCALE_MIN_R2         1e-8  /* distances sqrt(max(r^2, 1e-8)) */
#define DS_LARGE_SCALE_SELF_OFFSET    100.0 /* added to the self pair's normalised distance */
#define DS_LARGE_SCALE_SCALE_FLOOR    1e-3  /* max(s, 1e-3) and max(s / sqrt(d), 1e-3) */
#define DS_LARGE_SCALE_RMS_FLOOR      1e-8  /* sqrt(max(mean |V|^2, 1e-8)) in scaled coordinates */

/* How a floored mode measures pairs: distances sqrt(max(r^2, min_r2)), the self pair (a
   query and a source of the same global index) at distance self_distance, and which floor
   the affinities take (DS_JOINT_FLOOR_TUTORIAL or DS_JOINT_FLOOR_LARGE_SCALE). */
typedef struct {
  DSJointFloor floor;
  PetscReal    min_r2;
  PetscReal    self_distance;
} DSFloorRule;

/* The rule of `floor` for a joint field whose distances are in units of `unit` (the
   multitemperature field's max(s, 1e-3); 1 for the joint field): tutorial min_r2 0 and
   self distance 1e6; large scale min_r2 1e-8 and self distance sqrt(1e-8) + 100 unit. */
PETSC_EXTERN DSFloorRule ds_floor_rule(DSJointFloor floor, PetscReal unit);

/* Adds the kernel matrix's row sums row[i] += sum_j K_ij and column sums
   column[j] += sum_i K_ij of a query block against a source block, K_ij = k(r_ij) with
   the rule's distances; with self_pairs, pairs of the same global index are the self pair
   (at the rule's self distance). Source weights are ignored. */
PETSC_EXTERN void ds_kernel_floor_row_column_sums(const DSKernel *kernel, const DSFloorRule *rule, const DSBlock *query, const DSBlock *source, PetscBool self_pairs, PetscReal *row, PetscReal *column);

/* Per-query accumulators of the floored affinity sums: value[i] = sum_j A_ij,
   moment[c * ld + i] = sum_j A_ij (z_ic - s_jc), floor_value[i] = the part of value[i]
   from pairs at the floor, and floor_pairs the number of such pairs. */
typedef struct {
  PetscInt       ld;
  PetscReal     *value, *moment, *floor_value;
  PetscLogDouble floor_pairs;
} DSFloorSums;

/* Adds to `sums` the affinities A_ij of every query point (row sums R_i in row_sums)
   against every source point (column sums C_j in column_sums, column weights w_j in
   column_weights), K_ij = k(r_ij) with the rule's distances and self pair:
     tutorial     A = w K / sqrt(max(R C, 1e-12)); at the floor when R C < 1e-12 and K > 0;
     large scale  A = w sqrt(max(p q, 1e-6)), p = K / R, q = K / C (0 where R or C is 0);
                  at the floor when p q < 1e-6 (every pair, the self pair included). */
PETSC_EXTERN void ds_kernel_floor_sums(const DSKernel *kernel, const DSFloorRule *rule, const DSBlock *query, const PetscReal *row_sums, const DSBlock *source, const PetscReal *column_sums, const PetscReal *column_weights, PetscBool self_pairs, DSFloorSums *sums);

/* sum_i sum_j w_j sqrt(max(|z_i - s_j|^2, min_r2)) over a query and a source block, with
   the source's weights w_j (source->weight; NULL: 1). */
PETSC_EXTERN PetscReal ds_kernel_floor_distance_sum(const DSBlock *query, const DSBlock *source, PetscReal min_r2);

#endif

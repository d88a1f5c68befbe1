/* The joint field's state and computation (joint.c), shared with the multitemperature
   type, which evaluates a joint field per temperature; the explicit negatives and the
   per-point column weights are read by joint_columns.c. */
#ifndef DS_FIELD_JOINT_H
#define DS_FIELD_JOINT_H

#include "sources.h"
#include "ds_kernels_floor.h"

/* The floor's own diagnostics per joint field (per temperature): the mean and maximum over
   particles of the floor's share of P_i, the same of Q_i, and the pairs at the floor. */
#define DS_JOINT_FLOOR_DIAGNOSTICS 5

typedef struct {
  DSFieldSources *sources; /* particles, samples and (when given) negatives */
  DSJointFloor    floor;
  PetscBool       negatives;     /* explicit negatives were given */
  PetscBool       weighted;      /* some column weights were read from a file */
  PetscInt        columns_global[DS_SOURCE_SETS]; /* N, M and the negatives' count */
  PetscReal       weight_total;  /* sum of every column's weight (N + M + negatives without weights) */
  PetscReal      *weights[DS_SOURCE_SETS]; /* this rank's column weights per set (all 1 when not given) */
  /* Row sums R_i; per set [DS_SOURCES_MAX_TRAVELLING][n]: the column sums C_c (exact
     mode: then the column weights w_c / sqrt(C_c)) and the column weights w_c. */
  PetscReal      *row_sums, *travelling[DS_SOURCE_SETS];
  DSKernelSums    sums[DS_SOURCE_SETS]; /* exact mode: the weighted kernel sums of the second pass */
  DSFloorSums     floor_sums[2];        /* floored modes: against particles and negatives (Q side), data (P side) */
} DSJoint;

/* Sets field->data to `size` zeroed bytes that begin with a DSJoint (a type may extend
   it: its private struct's first member), with the field's sources, its negatives and
   column weights (joint_columns.c) and buffers, and field->ops.destroy to
   ds_joint_destroy (a type that extends the struct replaces it), so that ds_field_create
   frees what was made when this or the rest of the type's create fails. Refuses an
   analytic target: the columns are the particles and the samples. */
PETSC_INTERN PetscErrorCode ds_joint_create(DSField field, size_t size);

/* Reads the options' negatives into the sources and the column weights of every set,
   each checked (finite, >= 0, one per point, not all 0) before anything is written;
   errors name the option and the file. Collective. */
PETSC_INTERN PetscErrorCode ds_joint_columns_read(DSField field, const DSOptions *opts, DSJoint *joint);

/* v ([local_count][d]) = the joint field (SCIENCE.md item 3, with the joint's floor) with
   bandwidth h at the particles already loaded into the sources; `unit` is the distance
   unit of the large-scale self pair (1 for the joint field, max(s, 1e-3) per temperature
   of the multitemperature field). */
PETSC_INTERN PetscErrorCode ds_joint_compute(DSField field, DSJoint *joint, PetscReal h, PetscReal unit, PetscReal *v);

/* Declares the floor's diagnostics (floor_share_p_mean, floor_share_p_max,
   floor_share_q_mean, floor_share_q_max, floor_pairs, each followed by `suffix`) into
   slots[DS_JOINT_FLOOR_DIAGNOSTICS]; none for the exact mode (slots[0] = -1). */
PETSC_INTERN PetscErrorCode ds_joint_declare_floor_diagnostics(DSField field, const DSJoint *joint, const char suffix[], PetscInt slots[]);

/* Sets the floor's diagnostics of the last ds_joint_compute into their slots: the floor's
   share of P_i (floor part / P_i, 0 where P_i = 0) and of Q_i, their global mean and
   maximum over particles, and the global count of pairs at the floor. Collective; nothing
   for the exact mode. */
PETSC_INTERN PetscErrorCode ds_joint_floor_diagnostics(DSField field, const DSJoint *joint, const PetscInt slots[]);

/* Frees field->data, which begins with a DSJoint (a partly created one too). */
PETSC_INTERN PetscErrorCode ds_joint_destroy(DSField field);

#endif

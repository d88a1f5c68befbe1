/* The joint field's state and computation (joint.c), shared with the multitemperature
   type, which evaluates a joint field per temperature. */
#ifndef DS_FIELD_JOINT_H
#define DS_FIELD_JOINT_H

#include "sources.h"

typedef struct {
  DSFieldSources *sources;
  /* Row sums R_i, particle and sample column sums (then weights 1 / sqrt(C_c)), and the
     weighted kernel sums against particles and samples of the second pass. */
  PetscReal   *row_sums, *particle_columns, *data_columns;
  DSKernelSums sums_x, sums_y;
} DSJoint;

/* Sets field->data to `size` zeroed bytes that begin with a DSJoint (a type may extend
   it: its private struct's first member), with the field's sources and buffers. Refuses
   an analytic target: the columns are the particles and the samples. */
PETSC_INTERN PetscErrorCode ds_joint_create(DSField field, size_t size);

/* v ([local_count][d]) = the joint field (SCIENCE.md item 3) with bandwidth h at the
   particles already loaded into the sources. */
PETSC_INTERN PetscErrorCode ds_joint_compute(DSField field, DSJoint *joint, PetscReal h, PetscReal *v);

/* Frees field->data, which begins with a DSJoint. */
PETSC_INTERN PetscErrorCode ds_joint_destroy(DSField field);

#endif

/* Targets nu: analytic Gaussian mixtures (exact smoothed score) and sample sets drawn
   with the counter-based generator, partitioned across ranks or replicated. */
#ifndef DS_TARGET_H
#define DS_TARGET_H

#include <petscsys.h>
#include "ds_mixture.h"
#include "ds_options.h"
#include "ds_rng.h"

typedef struct {
  DSTargetType type;
  PetscInt     dim;
  PetscReal    scale;
  PetscInt     seed;

  /* Mixture description with its smoothed factors (gaussian as K = 1, gmm8 as K = 8); NULL
     when the target has no density. */
  DSMixture *mixture;

  /* Samples y_1..y_M. analytic == PETSC_TRUE means M = 0 and the density is used. */
  PetscBool  analytic;
  PetscInt   samples_global; /* M */
  PetscInt   samples_local;  /* rows held by this rank (M when replicated) */
  PetscInt   samples_start;  /* global index of the first local row */
  PetscBool  replicated;
  PetscReal *samples;        /* [samples_local][d], row-major */
} DSTarget;

/* True when the target has a density that can be used analytically (gaussian, gmm8). */
PETSC_EXTERN PetscBool ds_target_has_density(DSTargetType target);

/* True when the target exists only in two dimensions. */
PETSC_EXTERN PetscBool ds_target_is_planar(DSTargetType target);

/* Default M for n particles: 0 (the analytic density) where the density can serve the field,
   a target with a density and the gaussian kernel (the only kernel with an exact smoothed
   density) for a field that does not need samples; n otherwise (the samples stand in for
   the density). */
PETSC_EXTERN PetscInt ds_target_default_samples(DSTargetType target, DSKernelType kernel, PetscBool needs_samples, PetscInt n);

/* Refuses target options that describe no usable target, raising PETSC_ERR_USER_INPUT on
   every rank of comm: a planar target outside 2-D, M = 0 for a target without a density, and
   M = 0 with a kernel other than gaussian. Depends only on the options. */
PETSC_EXTERN PetscErrorCode ds_target_check_options(MPI_Comm comm, const DSOptions *opts);

/* Builds the target of the options (collective): the mixture description when the target
   has a density, and this rank's share of M samples (all of them with -drift_replicate_data). */
PETSC_EXTERN PetscErrorCode ds_target_create(MPI_Comm comm, const DSOptions *opts, DSTarget **target);

/* Frees everything ds_target_create allocated. */
PETSC_EXTERN PetscErrorCode ds_target_destroy(DSTarget **target);

/* Draws sample `index` of target `type` (scale, dimension) from stream `stream` under `seed`:
   a pure function of its arguments. y has dim entries. */
PETSC_EXTERN PetscErrorCode ds_target_draw(DSTargetType type, PetscReal scale, PetscInt dim, uint64_t seed, DSRngStream stream, PetscInt index, PetscReal *y);

/* Score of the smoothed mixture, grad log nu_h(z) with nu_h = nu * N(0, h^2 I) (gaussian
   kernel), at npoints points z (row-major [npoints][d]) into score (same layout). */
PETSC_EXTERN PetscErrorCode ds_target_smoothed_score(DSTarget *target, PetscReal h, PetscInt npoints, const PetscReal *z, PetscReal *score);

/* log nu_h(z) of the smoothed mixture at one point (normalised density). */
PETSC_EXTERN PetscErrorCode ds_target_smoothed_log_density(DSTarget *target, PetscReal h, const PetscReal *z, PetscReal *logp);

#endif

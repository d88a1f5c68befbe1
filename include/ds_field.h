/* Velocity fields of SCIENCE.md: conservative (KDE gradient) and displacement
   (mean shift, per-particle normalisation), built from ring passes over the particles
   and the target samples (or the analytic smoothed target score). */
#ifndef DS_FIELD_H
#define DS_FIELD_H

#include <petscvec.h>
#include "ds_options.h"
#include "ds_target.h"

typedef struct DSField_ *DSField;

/* Creates the field of the options for particle Vecs with this rank's `local_count`
   particles (collective). The target is borrowed and must outlive the field. */
PETSC_EXTERN PetscErrorCode ds_field_create(MPI_Comm comm, const DSOptions *opts, DSTarget *target, PetscInt local_count, DSField *field);

/* V = the field at the particles X with bandwidth h (the self pair as the options say). */
PETSC_EXTERN PetscErrorCode ds_field_evaluate(DSField field, PetscReal h, Vec X, Vec V);

/* V = the field of particles X evaluated at query points Z (not particles: no self pair).
   Z and V have block size d and any layout. */
PETSC_EXTERN PetscErrorCode ds_field_evaluate_at(DSField field, PetscReal h, Vec X, Vec Z, Vec V);

/* Pair interactions (one (i, j) contribution to the kernel sums) done by this rank so far. */
PETSC_EXTERN PetscErrorCode ds_field_get_pair_count(DSField field, PetscLogDouble *pairs);

/* Frees the field. */
PETSC_EXTERN PetscErrorCode ds_field_destroy(DSField *field);

#endif

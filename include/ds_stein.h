/* The theorem's state-dependent quantities (SCIENCE.md, "The theorem's quantities") for the
   conservative field with the gaussian kernel: the empirical Stein drift SD_t and the
   smoothed Fisher discrepancy J_t of the particle KDE rho_h (self term included), against
   the exact smoothed target nu_h (a mixture) or the samples' KDE. */
#ifndef DS_STEIN_H
#define DS_STEIN_H

#include <petscvec.h>
#include "ds_options.h"
#include "ds_target.h"
#include "ds_field.h"

typedef struct DSStein_ *DSStein;

/* Whether the options describe the theorem's setting: the conservative field with the
   gaussian kernel. */
PETSC_EXTERN PetscBool ds_stein_applies(const DSOptions *opts);

/* Creates the Stein quantities for particle Vecs with `local_count` particles here
   (collective). `field` (the run's conservative field) gives v at query points for J; the
   target and the field are borrowed. */
PETSC_EXTERN PetscErrorCode ds_stein_create(MPI_Comm comm, const DSOptions *opts, DSTarget *target, DSField field, PetscInt local_count, DSStein *stein);

/* SD_t = (1/N) sum_i [Lap log nu_h(x_i) - Lap log rho_h(x_i) + v(x_i) . grad log nu_h(x_i)],
   v = grad log nu_h - grad log rho_h, with the kernel moments S0 = sum_j k_j,
   S1 = sum_j k_j r_j, S2 = sum_j k_j |r_j|^2 (r_j = x - x_j, every j, the self pair included):
     grad log rho_h = -S1 / (h^2 S0),  Lap log rho_h = S2 / (h^4 S0) - d / h^2 - |S1|^2 / (h^4 S0^2);
   the same formulas over the samples for a sample target, the mixture's closed forms for an
   analytic one. Collective. */
PETSC_EXTERN PetscErrorCode ds_stein_drift(DSStein stein, Vec X, PetscReal h, PetscReal *sd);

/* J_t = (1/N) sum_i E_Z |v(x_i + h Z)|^2, Z ~ N(0, I), by Q = -drift_fisher_draws seeded
   draws per particle (stream DS_STREAM_FISHER, keyed by (step, particle, draw), so the same
   at every rank count), and its standard error sqrt(sum_i s_i^2 / Q) / N with s_i^2 the
   sample variance of particle i's Q values. Collective. */
PETSC_EXTERN PetscErrorCode ds_stein_fisher(DSStein stein, Vec X, PetscReal h, PetscInt step, PetscReal *fisher, PetscReal *standard_error);

/* Frees the Stein quantities. */
PETSC_EXTERN PetscErrorCode ds_stein_destroy(DSStein *stein);

#endif

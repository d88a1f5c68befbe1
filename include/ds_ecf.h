/* The empirical characteristic function error of SCIENCE.md, "Spectral view": per shell
   |k| = K, E(K) = (1/L) sum_l |(1/N) sum_i exp(-i k_l . x_i) - phi(k_l)| over L seeded unit
   directions theta_l (k_l = K theta_l), phi the target's characteristic function in the
   same convention, phi(k) = E exp(-i k . Y): exact for an analytic mixture target,
   sum_j w_j exp(-i k . m_j - k^T C_j k / 2), the samples' own (1/M) sum_k exp(-i k . y_k)
   otherwise. Beside it the Monte-Carlo floor, the RMS of E for N independent draws of the
   target: F(K) = sqrt((1/N + 1/M) (1/L) sum_l (1 - |phi(k_l)|^2)), 1/M = 0 for the exact
   phi (ecf.c). */
#ifndef DS_ECF_H
#define DS_ECF_H

#include <petscsys.h>
#include "ds_mixture.h"
#include "ds_options.h" /* DS_MAX_ECF_SHELLS */

typedef struct DSEcf_ *DSEcf;

/* Creates the diagnostic for `nshells` shells K[] and L = `directions` unit directions,
   direction l the normalised vector of d normals (seed, DS_STREAM_ECF, l), the same for
   every shell and at every rank count, against the mixture `exact` (not NULL: its exact
   phi) or the samples (rows [samples_local][d]: this rank's block, or all of them when
   `replicated`), for `particles_global` particles (collective). Names ecf_error_K<K> and
   ecf_floor_K<K> (%g of K), in shell order, errors first. */
PETSC_EXTERN PetscErrorCode ds_ecf_create(MPI_Comm comm, PetscInt dim, PetscInt nshells, const PetscReal shells[], PetscInt directions, PetscInt seed, const DSMixture *exact, PetscInt samples_local, const PetscReal samples[], PetscBool replicated, PetscInt particles_global, DSEcf *ecf);

/* The shells as a comma-separated list of %.15g ("none" without shells), for messages and
   a checkpoint's run description; DS_ECF_SHELLS_TEXT characters hold every list. */
#define DS_ECF_SHELLS_TEXT (24 * DS_MAX_ECF_SHELLS)
PETSC_EXTERN void ds_ecf_shells_text(PetscInt nshells, const PetscReal shells[], char text[], size_t len);

/* Refuses (PETSC_ERR_USER_INPUT on every rank of comm) shells two of which would have the
   same names, K equal in %g (1,1 or 1,1.0000001): their datasets could not both be written. */
PETSC_EXTERN PetscErrorCode ds_ecf_check_shells(MPI_Comm comm, PetscInt nshells, const PetscReal shells[]);

/* The 2 nshells names (errors, then floors). */
PETSC_EXTERN PetscErrorCode ds_ecf_get_names(DSEcf ecf, PetscInt *count, const char *const **names);

/* values[0..nshells) = E(K) at this rank's particles x (rows [local][d]) and
   values[nshells..2 nshells) = F(K). Collective. */
PETSC_EXTERN PetscErrorCode ds_ecf_compute(DSEcf ecf, PetscInt local, const PetscReal x[], PetscReal values[]);

/* The unit directions, [L][d]. */
PETSC_EXTERN PetscErrorCode ds_ecf_get_directions(DSEcf ecf, PetscInt *directions, const PetscReal **theta);

/* Frees the diagnostic. */
PETSC_EXTERN PetscErrorCode ds_ecf_destroy(DSEcf *ecf);

#endif

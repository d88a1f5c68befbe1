/* Gaussian mixtures nu = sum_k w_k N(m_k, C_k) in dimension d, with the factorisation of
   their smoothed components C_k + h^2 I owned by the mixture (mixture.c). The target keeps
   the mixture of a target with a density; the diagnostics keep a copy of it. */
#ifndef DS_MIXTURE_H
#define DS_MIXTURE_H

#include <petscsys.h>

typedef struct {
  PetscInt   dim;         /* d */
  PetscInt   components;  /* K >= 1 */
  PetscReal *weights;     /* [K], summing to 1 */
  PetscReal *means;       /* [K][d] */
  PetscReal *covariances; /* [K][d][d] */

  /* Factors of S_k = C_k + h^2 I for the h last used, refreshed when another h is asked for. */
  PetscReal  factored_h; /* h the factors belong to; negative before first use (set it
                            negative after changing the description in place) */
  PetscReal *cholesky;   /* [K][d][d], lower triangle of S_k */
  PetscReal *logdet;     /* [K], log det S_k */
  PetscReal *inverse_trace; /* [K], tr S_k^{-1} */
} DSMixture;

/* Creates a mixture of `components` components in dimension `dim` with every weight, mean
   and covariance 0, for the caller to fill. */
PETSC_EXTERN PetscErrorCode ds_mixture_create(PetscInt dim, PetscInt components, DSMixture **mixture);

/* Creates a copy of the description of `mixture` (its factors are computed when first needed). */
PETSC_EXTERN PetscErrorCode ds_mixture_duplicate(const DSMixture *mixture, DSMixture **copy);

/* Frees the mixture and its factors; *mixture becomes NULL (NULL is allowed). */
PETSC_EXTERN PetscErrorCode ds_mixture_destroy(DSMixture **mixture);

/* Score grad log nu_h(z) of the smoothed mixture nu_h = sum_k w_k N(m_k, C_k + h^2 I), h >= 0,
   at npoints points z (row-major [npoints][d]) into score (same layout). */
PETSC_EXTERN PetscErrorCode ds_mixture_score(DSMixture *mixture, PetscReal h, PetscInt npoints, const PetscReal *z, PetscReal *score);

/* The score as ds_mixture_score and the Laplacian of the log density,
   Lap log nu_h(z) = sum_k r_k (|S_k^{-1}(z - m_k)|^2 - tr S_k^{-1}) - |grad log nu_h(z)|^2 with
   r_k the components' responsibilities, at npoints points into laplacian[npoints]. */
PETSC_EXTERN PetscErrorCode ds_mixture_score_laplacian(DSMixture *mixture, PetscReal h, PetscInt npoints, const PetscReal *z, PetscReal *score, PetscReal *laplacian);

/* log nu_h(z) of the smoothed mixture at one point z (normalised density), h >= 0. */
PETSC_EXTERN PetscErrorCode ds_mixture_log_density(DSMixture *mixture, PetscReal h, const PetscReal *z, PetscReal *logp);

/* Component log densities log w_k + log N(z; m_k, C_k + h^2 I), h >= 0 (h = 0: the
   unsmoothed components), at npoints points z ([npoints][d]) into logp ([npoints][K]). */
PETSC_EXTERN PetscErrorCode ds_mixture_component_log_densities(DSMixture *mixture, PetscReal h, PetscInt npoints, const PetscReal *z, PetscReal *logp);

/* Mean mu = sum_k w_k m_k ([d]) and covariance Sigma = sum_k w_k (C_k + (m_k - mu)(m_k - mu)^T)
   ([d][d], row-major) of the mixture. */
PETSC_EXTERN PetscErrorCode ds_mixture_moments(const DSMixture *mixture, PetscReal *mu, PetscReal *sigma);

#endif

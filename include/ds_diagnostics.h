/* Global diagnostics of the particle state (SCIENCE.md: diagnostics the theory speaks of). */
#ifndef DS_DIAGNOSTICS_H
#define DS_DIAGNOSTICS_H

#include <petscvec.h>
#include "ds_options.h"
#include "ds_target.h"
#include "ds_ecf.h"

typedef struct DSDiagnostics_ *DSDiagnostics;

/* At most this many diagnostics from ds_diagnostics_create (every group on). */
#define DS_MAX_STATE_DIAGNOSTICS (10 + 2 * DS_MAX_ECF_SHELLS)

/* Root residual velocity sqrt(1/N sum_i |v_i|^2) and squared centre velocity
   |1/N sum_i v_i|^2 of a velocity Vec V (block size d, N = rows). Collective. */
PETSC_EXTERN PetscErrorCode ds_diagnostics_velocity(Vec V, PetscReal *rms_velocity, PetscReal *center_velocity_sq);

/* Creates the distance and KDE diagnostics of the options' -drift_diagnostics groups that
   apply to this run (collective), for particle Vecs with `local_count` particles here:
     mmd2             V-statistic MMD^2 with the unnormalised gaussian kernel of bandwidth
                      -drift_mmd_bandwidth (all pairs, i = j included)
     energy_distance  2 mean|x - y| - mean|x - x'| - mean|y - y'| (V-statistics)
     sliced_w2        sqrt of the mean over -drift_sliced_w2_projections seeded unit
                      directions of the exact squared 1-D W2 between the projected
                      empirical measures (quantile functions when N != M)
     sinkhorn         sinkhorn_divergence, the debiased S_eps(particles, samples) of
                      ds_sinkhorn_divergence at -drift_sinkhorn_divergence_epsilon (the
                      squared or euclidean -drift_sinkhorn_cost, self pairs kept)
     ecf              ecf_error_K<K> and ecf_floor_K<K> for each shell of -drift_ecf_shells
                      (ds_ecf.h): the characteristic function's error over
                      -drift_ecf_directions directions and its Monte-Carlo floor; exact phi
                      for an analytic mixture target, the samples' otherwise; listed last
     kde              reciprocal_kde R_N = 1/N sum_i 1/q(x_i) (q the normalised particle KDE
                      of the run's kernel at the bandwidth in force, self term included),
                      self_interaction |Laplacian K_h(0)| R_N / N, and min_occupancy
                      min_i sum_j k(x_i, x_j) (self included: >= 1); laplace (no Laplacian at
                      0) reports reciprocal_kde and min_occupancy, imq with 2 beta <= d (no
                      finite normalisation) only min_occupancy
     mixture          mean_error |mean(x) - mu|, covariance_error ||Cov(x) - Sigma||_F
                      (1/N normalisation; mu, Sigma the mixture's), mode_coverage (fraction
                      of components holding at least half their expected w_k N particles,
                      particles assigned to their most probable component); only for
                      targets with a mixture description
   The distances compare with the target's samples, or with -drift_diagnostics_samples
   (default N) samples drawn from an analytic target on stream DS_STREAM_DIAGNOSTIC. */
PETSC_EXTERN PetscErrorCode ds_diagnostics_create(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, PetscInt local_count, DSDiagnostics *diagnostics);

/* The names of the diagnostics computed, fixed at creation (in the order listed above). */
PETSC_EXTERN PetscErrorCode ds_diagnostics_get_names(DSDiagnostics diagnostics, PetscInt *count, const char *const **names);

/* Computes every diagnostic at the particles X (block size d) with the run's kernel at
   bandwidth h; values[k] belongs to names[k] and is identical on every rank. Collective;
   logged as the DSDiagnostics event. */
PETSC_EXTERN PetscErrorCode ds_diagnostics_compute(DSDiagnostics diagnostics, Vec X, PetscReal h, PetscReal *values);

/* Frees the diagnostics. */
PETSC_EXTERN PetscErrorCode ds_diagnostics_destroy(DSDiagnostics *diagnostics);

#endif

/* The finite-particle theorem's quantities that do not depend on the particles' current
   state (SCIENCE.md, "The theorem's quantities"): the initial entropy KL(rho_0 || nu_h) and
   the mean-field reference C_inf(t) of a gaussian cloud drifting onto a gaussian target. */
#ifndef DS_THEOREM_H
#define DS_THEOREM_H

#include <petscsys.h>
#include "ds_options.h"
#include "ds_target.h"

/* KL(rho_0 || nu_h) for the options' initial law rho_0 (gaussian N(m 1, s^2 I) or uniform on
   [m - s, m + s]^d, m = -drift_init_mean, s = -drift_init_scale) and the target's smoothed
   mixture nu_h = sum_k w_k N(m_k, C_k + h^2 I). Closed form for a gaussian cloud and the
   gaussian target:
     KL = (1/2) [d s^2 / tau^2 + |m 1 - mu|^2 / tau^2 - d + d log(tau^2 / s^2)],  tau^2 = sigma^2 + h^2,
   with *standard_error = 0; otherwise the mean of log rho_0(x) - log nu_h(x) over `draws`
   seeded draws x from rho_0 (stream DS_STREAM_ENTROPY, split over the ranks) and its standard
   error. NaN (and 0) for a target without a density or an initial cloud read from a file.
   Collective. */
PETSC_EXTERN PetscErrorCode ds_theorem_initial_kl(MPI_Comm comm, const DSOptions *opts, DSTarget *target, PetscReal h, PetscInt draws, PetscReal *kl, PetscReal *standard_error);

/* The N -> infinity flow of the conservative gaussian-kernel field from a gaussian cloud
   N(m_0 1, s_0 I) onto the gaussian target N(0, sigma^2 I) (doc/model.md, mean-field limit):
   the law stays N(m_t 1, s_t I), every coordinate obeying
     dm/dt = -a m,   ds/dt = 2 s (b - a),   a = 1 / (sigma^2 + h^2),  b = 1 / (s + h^2),
   and the centre velocity of the limit is
     C_inf(t) = E |v_inf(x)|^2 = d [s (b - a)^2 + a^2 m^2]. */
typedef struct {
  PetscInt  dim;
  PetscReal target_variance; /* sigma^2 */
  PetscReal time, mean, variance; /* t, m_t, s_t */
} DSMeanField;

/* Whether the options describe that case (conservative field, gaussian kernel, analytic
   gaussian target, gaussian initial cloud), and if so its state at t = 0. */
PETSC_EXTERN PetscBool ds_meanfield_applies(const DSOptions *opts);
PETSC_EXTERN void      ds_meanfield_start(const DSOptions *opts, DSMeanField *meanfield);

/* Advances the moment ODE from meanfield->time to t with the bandwidth h(t) of `bandwidth`
   (classical RK4 on substeps of at most 0.02 min(h^2, sigma^2 + h^2)). */
PETSC_EXTERN void ds_meanfield_advance(DSMeanField *meanfield, PetscReal (*bandwidth)(const void *ctx, PetscReal t), const void *ctx, PetscReal t);

/* C_inf at the current state with bandwidth h. */
PETSC_EXTERN PetscReal ds_meanfield_centre_velocity(const DSMeanField *meanfield, PetscReal h);

/* The running time integrals of the theorem's quantities along a run, by the trapezoid rule
   over the states they are added at (every step for C_t, the self term and C_inf; every
   diagnostics step for SD_t). Part of a checkpoint, so a restart continues them. */
typedef struct {
  PetscInt    count;            /* states added */
  PetscReal   time;             /* t of the last one */
  PetscReal   centre_velocity, self_term, meanfield_velocity; /* its C_t, (a_h/N) R_t, C_inf(t) */
  PetscReal   centre_velocity_integral, self_term_integral, meanfield_velocity_integral;
  PetscInt    stein_count;
  PetscReal   stein_time, stein_drift, stein_drift_integral; /* the last SD_t added, and int SD dt */
  DSMeanField meanfield;        /* the moment ODE's state (when it applies) */
} DSTheoremIntegrals;

/* Adds the state at time t (C_t, self term, C_inf; NaN where not computed): each integral
   grows by the trapezoid from the previous state. The first state only starts them. */
PETSC_EXTERN void ds_theorem_integrals_add(DSTheoremIntegrals *integrals, PetscReal t, PetscReal centre_velocity, PetscReal self_term, PetscReal meanfield_velocity);

/* Adds SD_t at time t to its own trapezoid (diagnostics steps only). */
PETSC_EXTERN void ds_theorem_integrals_add_stein(DSTheoremIntegrals *integrals, PetscReal t, PetscReal stein_drift);

/* The identity's sides at the last state, from time 0 to T = integrals->time:
     left  = (1/T) int_0^T SD_t dt,
     right = KL(rho_0 || nu_h) / T + (1/T) int_0^T (a_h/N) R_t dt,
   and the finite-particle excess (1/T) int_0^T (C_t - C_inf(t)) dt. NaN before T > 0. */
PETSC_EXTERN void ds_theorem_identity(const DSTheoremIntegrals *integrals, PetscReal kl, PetscReal *left, PetscReal *right, PetscReal *excess);

#endif

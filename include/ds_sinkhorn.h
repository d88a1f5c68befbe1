/* Entropic optimal transport between the particles and a set of samples, distributed over
   the ranks (SCIENCE.md, "Sinkhorn drift"): the log-domain Sinkhorn iterations, every
   log-sum-exp a ring pass of the LSE micro-kernels (ds_kernels_lse.h), each point's
   potential kept by the rank that owns the point, warm-started from the previous solve,
   eps-scaled from a cold start, stopped on the marginal error. The sinkhorn field and the
   sinkhorn_divergence diagnostic are built on it. Weights are uniform: a_i = 1/N for the
   particles, b_k = 1/M for the samples. */
#ifndef DS_SINKHORN_H
#define DS_SINKHORN_H

#include <petscsys.h>
#include "ds_options.h"

typedef struct {
  const char    *name;              /* who solves, for messages ("-drift_field sinkhorn") */
  const char    *epsilon_option;    /* the option that set epsilon, for messages */
  DSSinkhornCost cost;
  PetscReal      epsilon;           /* eps > 0 */
  PetscReal      tol;               /* a solve stops when the marginal error is below it (> 0) */
  PetscInt       max_iterations;    /* per solve, eps-scaling steps included */
  PetscReal      scaling;           /* a cold start's eps-scaling factor, in (0, 1); 0: none */
  PetscBool      warm_start;        /* each solve starts from the previous solve's potentials */
  PetscBool      extrapolate;       /* a warm start of the particles-target problem extrapolates g (ds_sinkhorn_solve) */
  PetscInt       anderson_memory;   /* Anderson mixing of the iterations at eps (ds_anderson.h); 0: none */
  PetscBool      allow_unconverged; /* max_iterations reached: the result stands (else an error) */
} DSSinkhornSettings;

/* The problems: the particles against the samples (potentials f at the particles, g at the
   samples), the particles against themselves (p) and the samples against themselves (q),
   the symmetric ones by the averaged iteration p <- (p + T(p)) / 2. */
typedef enum { DS_SINKHORN_PARTICLES_TARGET, DS_SINKHORN_PARTICLES_SELF, DS_SINKHORN_TARGET_SELF } DSSinkhornProblem;
#define DS_SINKHORN_PROBLEMS 3

typedef struct DSSinkhorn_ *DSSinkhorn;

/* The settings the options give: the sinkhorn field's (-drift_sinkhorn_epsilon) or, for
   `divergence`, the sinkhorn_divergence diagnostic's (-drift_sinkhorn_divergence_epsilon);
   the other -drift_sinkhorn_* options are shared. */
PETSC_EXTERN void ds_sinkhorn_settings(const DSOptions *opts, PetscBool divergence, DSSinkhornSettings *settings);

/* Creates a solver for `particles_local` particles of dimension dim on this rank and the
   samples' rows ([samples_local][dim], copied): this rank's block of them, or every sample
   on every rank when `replicated` (collective). */
PETSC_EXTERN PetscErrorCode ds_sinkhorn_create(MPI_Comm comm, PetscInt dim, PetscInt particles_local, PetscInt samples_local, const PetscReal samples[], PetscBool replicated, const DSSinkhornSettings *settings, DSSinkhorn *solver);

/* Sets the particles' positions: this rank's rows x ([particles_local][dim], copied). */
PETSC_EXTERN PetscErrorCode ds_sinkhorn_set_particles(DSSinkhorn solver, const PetscReal x[]);

/* Solves `problem` to the settings' tolerance (collective). Iteration at eps:
     particles-target  f_i = -eps log sum_k b_k exp((g_k - c_ik) / eps), then
                       g_k = -eps log sum_i a_i exp((f_i - c_ik) / eps);
     self problems     p_i <- (p_i + T(p)_i) / 2, T(p)_i = -eps log sum_j a_j exp((p_j - c_ij) / eps),
                       the pairs j = i left out when exclude_self (particles only).
   The marginal error, measured by each iteration before its last update, is
   max_k |sum_i pi_ik / b_k - 1| = max_k |exp((g_k - g_k^new) / eps) - 1| for the
   particles-target plan (its rows exact after the f update) and max_i |exp((p_i - T(p)_i) / eps) - 1|
   for the symmetric plans. A cold start (the first solve, or warm start off) begins from
   zero potentials at eps_0 = c(diameter of the particles and samples) and takes one
   iteration at each eps_0 s^k > eps (s the scaling factor). A warm start begins from the
   previous solve's potentials; with `extrapolate`, that of the particles-target problem
   from g_n + rho (g_n - g_(n-1)), the change of g from solve to solve taken as geometric
   and its ratio rho measured on the last three solves (ds_sinkhorn_extrapolate): the
   drift's Euler steps shrink it by a steady factor, 1 - dt while the cloud moves. Reaching max_iterations
   without convergence is a PETSC_ERR_NOT_CONVERGED error naming the options, unless the
   settings allow it. */
PETSC_EXTERN PetscErrorCode ds_sinkhorn_solve(DSSinkhorn solver, DSSinkhornProblem problem, PetscBool exclude_self);

/* The extrapolated warm start of the samples' potential g (a solve's, above), from the last
   solve's g_n (in g) and what this function kept of the solves before: with every g centred
   (its mean over the `count` samples removed; this rank holds `local` of them, sums over
   comm), sets g = g_n + rho (g_n - g_(n-1)) with rho = <g_n - g_(n-1), g_(n-1) - g_(n-2)> /
   |g_(n-1) - g_(n-2)|^2 clamped to [0, 1] (0 until `seen`, the calls so far, is 2); keeps
   g_n in previous and g_n - g_(n-1) in difference ([local] each) and counts the call in
   *seen (collective). */
PETSC_EXTERN PetscErrorCode ds_sinkhorn_extrapolate(MPI_Comm comm, PetscInt local, PetscInt count, PetscInt *seen, PetscReal previous[], PetscReal difference[], PetscReal g[], PetscReal *rho);

/* The potentials of the last solve of `problem`: first at this rank's points of the
   problem's first set (f, p: the particles; q: the samples) and second (g, at the
   samples; NULL for the symmetric problems). Samples' potentials are this rank's block
   of the samples (all of them when replicated). */
PETSC_EXTERN PetscErrorCode ds_sinkhorn_get_potentials(DSSinkhorn solver, DSSinkhornProblem problem, const PetscReal **first, const PetscReal **second);

/* The gradient of the last solve's potential at this rank's particles (problems on the
   particles; rows [particles_local][dim]): the row-normalised plan's mean of grad_x c,
   sum_k pi_ik grad c(x_i, y_k) / sum_k pi_ik, which for the squared cost is x_i - T(x_i),
   T the barycentric projection. */
PETSC_EXTERN PetscErrorCode ds_sinkhorn_get_gradient(DSSinkhorn solver, DSSinkhornProblem problem, const PetscReal **gradient);

/* Iterations of the last solve of `problem` (eps-scaling steps included) and the marginal
   error its last iteration measured. */
PETSC_EXTERN PetscErrorCode ds_sinkhorn_get_convergence(DSSinkhorn solver, DSSinkhornProblem problem, PetscInt *iterations, PetscReal *marginal_error);

/* The debiased Sinkhorn divergence S_eps(mu, nu) = OT_eps(mu, nu) - OT_eps(mu, mu)/2 -
   OT_eps(nu, nu)/2 of the particles mu and the samples nu, each OT_eps the dual value
   <a, f> + <b, g> of its solve (2 <a, p> for a symmetric one), self pairs kept. Solves
   the three problems (the samples' own once: the samples do not move). Collective. */
PETSC_EXTERN PetscErrorCode ds_sinkhorn_divergence(DSSinkhorn solver, PetscReal *divergence);

/* Pair interactions (one (i, k) term of a log-sum-exp) done by this rank so far. */
PETSC_EXTERN PetscErrorCode ds_sinkhorn_get_pair_count(DSSinkhorn solver, PetscLogDouble *pairs);

/* Frees the solver. */
PETSC_EXTERN PetscErrorCode ds_sinkhorn_destroy(DSSinkhorn *solver);

#endif

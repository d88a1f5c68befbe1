/* The distributed Sinkhorn solver (ds_sinkhorn.h).

   Two point sets, each on a ring (ring.c): the particles, always distributed, and the
   samples, distributed or replicated (a ring over this rank alone). A potential lives with
   its points' owner. Every update is one ring pass of ds_kernel_lse_sums:
     f update      the samples travel with their log-weights log b_k + g_k / eps; each rank
                   sums them against its particles (queries at home, with the moments the
                   gradient needs);
     g update      the samples travel with their running log-sum-exp accumulators (max and
                   sum), which each rank's particles, log-weighted by log a_i + f_i / eps,
                   add to; they come home complete (replicated samples: each rank's partial
                   accumulators are merged by a maximum and a rescaled sum over the ranks);
     self updates  a set's points travel with log a_j + p_j / eps against its home block. */
#include "ds_sinkhorn.h"
#include "ds_anderson.h"
#include "ds_kernels_lse.h"
#include "ds_ring.h"

enum { PARTICLES, SAMPLES, SETS };

typedef struct {
  PetscReal *first, *second; /* potentials: f and g, p, or q */
  PetscReal *gradient;       /* [n][d] at the particles (problems on the particles) */
  PetscInt   iterations;
  PetscReal  marginal_error;
  PetscBool  solved;         /* a solve ran: its potentials can start the next */
  DSAnderson anderson;       /* the mixing of the carried potential; NULL: plain iterations */
  PetscReal *previous;       /* particles-target: the last solve's centred g, and its change */
  PetscReal *difference;     /*   from the solve before (ds_sinkhorn_extrapolate) */
  PetscInt   solutions_seen;
} Problem;

struct DSSinkhorn_ {
  MPI_Comm           comm;
  PetscInt           dim;
  DSSinkhornSettings settings;
  PetscBool          replicated;
  DSRing             ring[SETS];
  DSBlock            block[SETS];
  PetscReal         *soa[SETS];
  PetscInt           count[SETS];      /* N and M */
  PetscReal         *travelling[SETS]; /* [2][n] per set: log-weights, or accumulators */
  PetscReal         *log_weights;      /* [n] the particles' log a_i + f_i / eps of a g update */
  DSLseSums          sums;             /* query accumulators at home, [max(n, m)] */
  PetscReal         *moments;          /* [d][max(n, m)] their moments, when asked for */
  PetscReal         *update;           /* [max(n, m)] the new potential of a self update */
  Problem            problem[DS_SINKHORN_PROBLEMS];
  PetscLogDouble     pairs;
};

/* The set of a problem's queries (its first potential's points). */
static int first_set(DSSinkhornProblem problem) { return problem == DS_SINKHORN_TARGET_SELF ? SAMPLES : PARTICLES; }

typedef struct {
  DSSinkhorn     S;
  PetscReal      epsilon;
  const DSBlock *home;         /* queries at home (query visits) or sources at home (column visits) */
  PetscBool      exclude_self;
  DSLseSums     *sums;         /* the home queries' accumulators (query visits) */
} Visit;

/* Home queries against the visiting block, weighted by its travelling log-weights. */
static PetscErrorCode visit_queries(void *ctx, const DSBlock *visiting, PetscReal *travelling)
{
  Visit  *v      = (Visit *)ctx;
  DSBlock source = *visiting;

  PetscFunctionBeginUser;
  source.weight = travelling;
  ds_kernel_lse_sums(v->S->settings.cost, v->epsilon, v->home, &source, v->exclude_self, v->sums);
  v->S->pairs += (PetscLogDouble)v->home->n * visiting->n;
  PetscCall(PetscLogFlops((8.0 * v->home->dim + 24.0) * v->home->n * visiting->n));
  PetscFunctionReturn(0);
}

/* The visiting block's travelling accumulators [max | value] against the home sources. */
static PetscErrorCode visit_columns(void *ctx, const DSBlock *visiting, PetscReal *travelling)
{
  Visit    *v    = (Visit *)ctx;
  DSLseSums sums = {visiting->n, travelling, travelling + visiting->n, NULL};

  PetscFunctionBeginUser;
  ds_kernel_lse_sums(v->S->settings.cost, v->epsilon, visiting, v->home, PETSC_FALSE, &sums);
  v->S->pairs += (PetscLogDouble)v->home->n * visiting->n;
  PetscCall(PetscLogFlops((4.0 * v->home->dim + 22.0) * v->home->n * visiting->n));
  PetscFunctionReturn(0);
}

/* -eps log sum of the accumulators: the new potential of each of n queries. */
static void potentials_from_sums(PetscInt n, PetscReal epsilon, const PetscReal *max, const PetscReal *value, PetscReal *potential)
{
  for (PetscInt i = 0; i < n; i++) potential[i] = -epsilon * (max[i] + PetscLogReal(value[i]));
}

/* gradient[i][c] = moment / value of the home queries' sums (0 where the value is 0). */
static void gradient_from_sums(PetscInt n, PetscInt d, const DSLseSums *sums, PetscReal *gradient)
{
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt c = 0; c < d; c++) gradient[i * d + c] = sums->value[i] > 0 ? sums->moment[c * sums->ld + i] / sums->value[i] : 0.0;
}

/* One pass of the home block of query_set against every block of source_set, which travels
   with the log-weights log(1 / count) + potential / eps: the potential the sums give in
   `update` and, when `gradient` is given, the moments' gradient. */
static PetscErrorCode lse_pass(DSSinkhorn S, int query_set, int source_set, const PetscReal *source_potential, PetscReal epsilon, PetscBool exclude_self, PetscReal *gradient, PetscReal *update)
{
  const PetscInt n = S->block[query_set].n, m = S->block[source_set].n;
  const PetscReal log_weight = -PetscLogReal((PetscReal)S->count[source_set]);
  Visit           visit      = {S, epsilon, &S->block[query_set], exclude_self, &S->sums};

  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < m; k++) S->travelling[source_set][k] = log_weight + source_potential[k] / epsilon;
  S->sums.ld     = n;
  S->sums.moment = gradient ? S->moments : NULL;
  ds_lse_sums_reset(n, S->dim, &S->sums);
  PetscCall(ds_ring_pass(S->ring[source_set], &S->block[source_set], visit_queries, &visit, 1, S->travelling[source_set]));
  potentials_from_sums(n, epsilon, S->sums.max, S->sums.value, update);
  if (gradient) gradient_from_sums(n, S->dim, &S->sums, gradient);
  PetscFunctionReturn(0);
}

/* The g update: g_k^new from the particles' f, and the marginal error max_k |exp((g_k -
   g_k^new) / eps) - 1| of the plan (f, g) on this rank's samples; g = g^new. */
static PetscErrorCode g_update(DSSinkhorn S, Problem *P, PetscReal epsilon, PetscReal *error)
{
  const PetscInt  n = S->block[PARTICLES].n, m = S->block[SAMPLES].n;
  const PetscReal log_weight = -PetscLogReal((PetscReal)S->count[PARTICLES]);
  PetscReal      *max = S->travelling[SAMPLES], *value = S->travelling[SAMPLES] + m;
  DSBlock         home  = S->block[PARTICLES];
  Visit           visit = {S, epsilon, &home, PETSC_FALSE, NULL};

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++) S->log_weights[i] = log_weight + P->first[i] / epsilon;
  home.weight = S->log_weights;
  for (PetscInt k = 0; k < m; k++) max[k] = -INFINITY, value[k] = 0;
  PetscCall(ds_ring_pass(S->ring[SAMPLES], &S->block[SAMPLES], visit_columns, &visit, 2, S->travelling[SAMPLES]));
  if (S->replicated) { /* each rank summed its own particles: merge by the largest maximum */
    PetscMPIInt mm;
    PetscCall(PetscMPIIntCast(m, &mm));
    PetscCall(PetscArraycpy(S->update, max, m));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, max, mm, MPIU_REAL, MPI_MAX, S->comm));
    for (PetscInt k = 0; k < m; k++) value[k] *= max[k] > -INFINITY ? PetscExpReal(S->update[k] - max[k]) : 0.0;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, value, mm, MPIU_REAL, MPI_SUM, S->comm));
  }
  potentials_from_sums(m, epsilon, max, value, S->update);
  *error = 0;
  for (PetscInt k = 0; k < m; k++) {
    const PetscReal e = PetscAbsReal(expm1((P->second[k] - S->update[k]) / epsilon));
    *error            = e > *error || PetscIsNanReal(e) ? e : *error;
    P->second[k]      = S->update[k];
  }
  PetscFunctionReturn(0);
}

/* The potential an iteration of `problem` carries to the next: g for the particles against
   the samples (f is a function of it), the potential itself for the symmetric problems. */
static PetscReal *carried(DSSinkhorn S, DSSinkhornProblem problem)
{
  return problem == DS_SINKHORN_PARTICLES_TARGET ? S->problem[problem].second : S->problem[problem].first;
}

/* One iteration of `problem` at eps; *error is the marginal error it measured (global). */
static PetscErrorCode iterate(DSSinkhorn S, DSSinkhornProblem problem, PetscReal epsilon, PetscBool exclude_self, PetscReal *error)
{
  Problem  *P   = &S->problem[problem];
  const int set = first_set(problem);

  PetscFunctionBeginUser;
  *error = 0;
  if (problem == DS_SINKHORN_PARTICLES_TARGET) {
    PetscCall(lse_pass(S, PARTICLES, SAMPLES, P->second, epsilon, PETSC_FALSE, P->gradient, P->first));
    PetscCall(g_update(S, P, epsilon, error));
  } else {
    PetscCall(lse_pass(S, set, set, P->first, epsilon, exclude_self, P->gradient, S->update));
    for (PetscInt i = 0; i < S->block[set].n; i++) {
      const PetscReal e = PetscAbsReal(expm1((P->first[i] - S->update[i]) / epsilon));
      *error            = e > *error || PetscIsNanReal(e) ? e : *error;
      P->first[i]       = 0.5 * (P->first[i] + S->update[i]);
    }
  }
  /* NaN (from a non-finite position) wins the maximum, so it is never taken for converged. */
  *error = PetscIsNanReal(*error) ? PETSC_MAX_REAL : *error;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, error, 1, MPIU_REAL, MPI_MAX, S->comm));
  PetscFunctionReturn(0);
}

/* The cost of the diameter of the particles and the samples together: a cold start's eps. */
static PetscErrorCode starting_epsilon(DSSinkhorn S, PetscReal *epsilon)
{
  const PetscInt d = S->dim;
  PetscReal     *low, *high, diameter2 = 0; /* the bounding box: its lower corner and minus its upper one */

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(2 * d, &low));
  high = low + d;
  for (PetscInt c = 0; c < d; c++) low[c] = high[c] = PETSC_MAX_REAL;
  for (int set = 0; set < SETS; set++)
    for (PetscInt c = 0; c < d; c++)
      for (PetscInt i = 0; i < S->block[set].n; i++) {
        const PetscReal x = S->block[set].x[c * S->block[set].ld + i];
        low[c]            = PetscMin(low[c], x);
        high[c]           = PetscMin(high[c], -x);
      }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, low, (PetscMPIInt)(2 * d), MPIU_REAL, MPI_MIN, S->comm));
  for (PetscInt c = 0; c < d; c++) diameter2 += PetscSqr(-high[c] - low[c]);
  PetscCall(PetscFree(low));
  *epsilon = ds_lse_cost(S->settings.cost, PetscSqrtReal(diameter2));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_sinkhorn_extrapolate(MPI_Comm comm, PetscInt local, PetscInt count, PetscInt *seen, PetscReal previous[], PetscReal difference[], PetscReal g[], PetscReal *rho)
{
  PetscReal mean = 0, dots[2] = {0, 0};

  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < local; k++) mean += g[k];
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &mean, 1, MPIU_REAL, MPI_SUM, comm));
  mean /= (PetscReal)count;
  for (PetscInt k = 0; k < local; k++) {
    const PetscReal centred = g[k] - mean, step = centred - previous[k];
    if (*seen >= 2) dots[0] += step * difference[k], dots[1] += difference[k] * difference[k];
    if (*seen >= 1) difference[k] = step;
    previous[k] = g[k] = centred;
  }
  *rho = 0;
  if (*seen >= 2) { /* every rank has seen as many */
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, dots, 2, MPIU_REAL, MPI_SUM, comm));
    if (dots[1] > 0) *rho = PetscMax(0, PetscMin(1, dots[0] / dots[1]));
    for (PetscInt k = 0; k < local; k++) g[k] += *rho * difference[k];
  }
  (*seen)++;
  PetscFunctionReturn(0);
}

/* The extrapolated warm start of the particles-target problem: ds_sinkhorn_extrapolate on
   its g. */
static PetscErrorCode extrapolate_target_potential(DSSinkhorn S)
{
  Problem  *P = &S->problem[DS_SINKHORN_PARTICLES_TARGET];
  PetscReal rho;

  PetscFunctionBeginUser;
  /* replicated samples: every rank holds every one, so the sums are this rank's */
  PetscCall(ds_sinkhorn_extrapolate(S->replicated ? PETSC_COMM_SELF : S->comm, S->block[SAMPLES].n, S->count[SAMPLES], &P->solutions_seen, P->previous, P->difference, P->second, &rho));
  PetscCall(PetscInfo(NULL, "%s: the warm start extrapolates g by rho = %g of its last change\n", S->settings.name, (double)rho));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_sinkhorn_solve(DSSinkhorn S, DSSinkhornProblem problem, PetscBool exclude_self)
{
  const DSSinkhornSettings *o = &S->settings;
  Problem                  *P = &S->problem[problem];
  PetscReal                 error = PETSC_MAX_REAL;

  PetscFunctionBeginUser;
  P->iterations = 0;
  if (!(P->solved && o->warm_start)) {
    PetscReal epsilon;
    PetscCall(PetscArrayzero(P->first, S->block[first_set(problem)].n));
    if (P->second) PetscCall(PetscArrayzero(P->second, S->block[SAMPLES].n));
    PetscCall(starting_epsilon(S, &epsilon));
    /* the scaling steps leave at least one of the max_iterations to the target eps */
    for (; o->scaling > 0 && epsilon > o->epsilon && P->iterations < o->max_iterations - 1; epsilon *= o->scaling, P->iterations++) PetscCall(iterate(S, problem, epsilon, exclude_self, &error));
  } else if (problem == DS_SINKHORN_PARTICLES_TARGET && o->extrapolate) PetscCall(extrapolate_target_potential(S));
  if (P->anderson) ds_anderson_reset(P->anderson);
  do {
    if (P->anderson) PetscCall(ds_anderson_record(P->anderson, carried(S, problem)));
    PetscCall(iterate(S, problem, o->epsilon, exclude_self, &error));
    P->iterations++;
    PetscCall(PetscInfo(NULL, "%s, problem %d: iteration %" PetscInt_FMT ", marginal error %g\n", o->name, (int)problem, P->iterations, (double)error));
    /* When another iteration follows: a mixed iterate whose marginal error is NaN (an
       update not finite) goes back to the unmixed one (a NaN with no mixed iterate to go
       back to stays, as without mixing); otherwise the update is mixed, unless the next
       iteration is the last, whose input stays a plain update. */
    if (P->anderson && error >= o->tol && P->iterations < o->max_iterations) {
      if (error == PETSC_MAX_REAL) (void)ds_anderson_fall_back(P->anderson, carried(S, problem));
      else if (P->iterations < o->max_iterations - 1) PetscCall(ds_anderson_mix(P->anderson, carried(S, problem)));
    }
  } while (error >= o->tol && P->iterations < o->max_iterations);
  P->marginal_error = error;
  P->solved         = PETSC_TRUE;
  PetscCheck(error < o->tol || o->allow_unconverged, S->comm, PETSC_ERR_NOT_CONVERGED,
             "%s: the Sinkhorn iterations did not converge: marginal error %g after %" PetscInt_FMT " iterations (-drift_sinkhorn_max_iterations) is not below -drift_sinkhorn_tol %g at %s %g; raise the iterations or the epsilon, or allow it with -drift_sinkhorn_allow_unconverged",
             o->name, (double)error, P->iterations, (double)o->tol, o->epsilon_option, (double)o->epsilon);
  PetscFunctionReturn(0);
}

void ds_sinkhorn_settings(const DSOptions *o, PetscBool divergence, DSSinkhornSettings *s)
{
  *s = (DSSinkhornSettings){divergence ? "sinkhorn_divergence" : "-drift_field sinkhorn", divergence ? "-drift_sinkhorn_divergence_epsilon" : "-drift_sinkhorn_epsilon", o->sinkhorn_cost, divergence ? o->sinkhorn_divergence_epsilon : o->sinkhorn_epsilon, o->sinkhorn_tol, o->sinkhorn_max_iterations, o->sinkhorn_scaling, o->sinkhorn_warm_start, o->sinkhorn_extrapolate, o->sinkhorn_anderson_memory, o->sinkhorn_allow_unconverged};
}

PetscErrorCode ds_sinkhorn_get_potentials(DSSinkhorn S, DSSinkhornProblem problem, const PetscReal **first, const PetscReal **second)
{
  PetscFunctionBeginUser;
  *first = S->problem[problem].first;
  if (second) *second = S->problem[problem].second;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_sinkhorn_get_gradient(DSSinkhorn S, DSSinkhornProblem problem, const PetscReal **gradient)
{
  PetscFunctionBeginUser;
  PetscCheck(S->problem[problem].gradient, S->comm, PETSC_ERR_ARG_WRONG, "the samples' own problem has no gradient at the particles");
  *gradient = S->problem[problem].gradient;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_sinkhorn_get_convergence(DSSinkhorn S, DSSinkhornProblem problem, PetscInt *iterations, PetscReal *marginal_error)
{
  PetscFunctionBeginUser;
  if (iterations) *iterations = S->problem[problem].iterations;
  if (marginal_error) *marginal_error = S->problem[problem].marginal_error;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_sinkhorn_divergence(DSSinkhorn S, PetscReal *divergence)
{
  const Problem *pair = &S->problem[DS_SINKHORN_PARTICLES_TARGET], *self = &S->problem[DS_SINKHORN_PARTICLES_SELF], *target = &S->problem[DS_SINKHORN_TARGET_SELF];
  PetscReal      sums[2] = {0, 0}; /* sum_i (f_i - p_i) and sum_k (g_k - q_k) */

  PetscFunctionBeginUser;
  PetscCall(ds_sinkhorn_solve(S, DS_SINKHORN_PARTICLES_TARGET, PETSC_FALSE));
  PetscCall(ds_sinkhorn_solve(S, DS_SINKHORN_PARTICLES_SELF, PETSC_FALSE));
  if (!target->solved) PetscCall(ds_sinkhorn_solve(S, DS_SINKHORN_TARGET_SELF, PETSC_FALSE));
  for (PetscInt i = 0; i < S->block[PARTICLES].n; i++) sums[0] += pair->first[i] - self->first[i];
  for (PetscInt k = 0; k < S->block[SAMPLES].n; k++) sums[1] += pair->second[k] - target->first[k];
  if (S->replicated) PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sums, 1, MPIU_REAL, MPI_SUM, S->comm)); /* every rank holds every sample */
  else PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPIU_REAL, MPI_SUM, S->comm));
  *divergence = sums[0] / (PetscReal)S->count[PARTICLES] + sums[1] / (PetscReal)S->count[SAMPLES];
  PetscFunctionReturn(0);
}

PetscErrorCode ds_sinkhorn_get_pair_count(DSSinkhorn S, PetscLogDouble *pairs)
{
  PetscFunctionBeginUser;
  *pairs = S->pairs;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_sinkhorn_set_particles(DSSinkhorn S, const PetscReal x[])
{
  PetscFunctionBeginUser;
  ds_rows_to_soa(S->block[PARTICLES].n, S->dim, x, S->soa[PARTICLES]);
  PetscFunctionReturn(0);
}

/* The ring, block and travelling buffer of one set: `local` points from `rows` (NULL: the
   particles, loaded later), over comm or, when replicated, over this rank alone. */
static PetscErrorCode set_create(DSSinkhorn S, int set, PetscInt local, const PetscReal *rows, PetscBool replicated)
{
  PetscInt start;

  PetscFunctionBeginUser;
  PetscCall(ds_ring_create(replicated ? PETSC_COMM_SELF : S->comm, S->dim, local, 2, &S->ring[set]));
  PetscCall(ds_ring_get_layout(S->ring[set], &start, &S->count[set]));
  PetscCall(PetscCalloc1(S->dim * PetscMax(local, 1), &S->soa[set]));
  if (rows) ds_rows_to_soa(local, S->dim, rows, S->soa[set]);
  S->block[set] = (DSBlock){local, S->dim, local, start, S->soa[set], NULL};
  PetscCall(PetscMalloc1(2 * PetscMax(local, 1), &S->travelling[set]));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_sinkhorn_create(MPI_Comm comm, PetscInt dim, PetscInt particles_local, PetscInt samples_local, const PetscReal samples[], PetscBool replicated, const DSSinkhornSettings *settings, DSSinkhorn *solver)
{
  DSSinkhorn     S;
  PetscInt       most;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&S));
  S->comm       = comm;
  S->dim        = dim;
  S->settings   = *settings;
  S->replicated = replicated;
  ierr          = set_create(S, PARTICLES, particles_local, NULL, PETSC_FALSE);
  if (!ierr) ierr = set_create(S, SAMPLES, samples_local, samples, replicated);
  if (ierr) {
    PetscCall(ds_sinkhorn_destroy(&S));
    PetscCall(ierr);
  }
  most = PetscMax(PetscMax(particles_local, samples_local), 1);
  PetscCall(PetscMalloc5(most, &S->sums.max, most, &S->sums.value, dim * most, &S->moments, most, &S->update, PetscMax(particles_local, 1), &S->log_weights));
  for (int k = 0; k < DS_SINKHORN_PROBLEMS; k++) {
    Problem *P = &S->problem[k];
    PetscCall(PetscCalloc1(PetscMax(S->block[first_set((DSSinkhornProblem)k)].n, 1), &P->first));
    if (k == DS_SINKHORN_PARTICLES_TARGET) PetscCall(PetscCalloc3(PetscMax(samples_local, 1), &P->second, PetscMax(samples_local, 1), &P->previous, PetscMax(samples_local, 1), &P->difference));
    if (k != DS_SINKHORN_TARGET_SELF) PetscCall(PetscCalloc1(dim * PetscMax(particles_local, 1), &P->gradient));
    P->marginal_error = NAN;
    if (settings->anderson_memory) {
      const int set = k == DS_SINKHORN_PARTICLES_SELF ? PARTICLES : SAMPLES; /* the carried potential's points */
      PetscCall(ds_anderson_create(set == SAMPLES && replicated ? PETSC_COMM_SELF : comm, S->block[set].n, settings->anderson_memory, &P->anderson));
    }
  }
  *solver = S;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_sinkhorn_destroy(DSSinkhorn *solver)
{
  DSSinkhorn S = *solver;

  PetscFunctionBeginUser;
  if (!S) PetscFunctionReturn(0);
  for (int set = 0; set < SETS; set++) {
    PetscCall(ds_ring_destroy(&S->ring[set]));
    PetscCall(PetscFree(S->soa[set]));
    PetscCall(PetscFree(S->travelling[set]));
  }
  for (int k = 0; k < DS_SINKHORN_PROBLEMS; k++) {
    PetscCall(PetscFree(S->problem[k].first));
    PetscCall(PetscFree3(S->problem[k].second, S->problem[k].previous, S->problem[k].difference));
    PetscCall(PetscFree(S->problem[k].gradient));
    PetscCall(ds_anderson_destroy(&S->problem[k].anderson));
  }
  PetscCall(PetscFree5(S->sums.max, S->sums.value, S->moments, S->update, S->log_weights));
  PetscCall(PetscFree(*solver));
  PetscFunctionReturn(0);
}

/* Global diagnostics of a particle state (SCIENCE.md: diagnostics the theory speaks of):
   velocity, distances to the target, the reciprocal-KDE terms, mixture moments and mode
   coverage, every value reduced over all ranks and identical on each.

   Pair sums circulate blocks with the ring engine, one pass per pair set:
     particles x particles   mmd2's sum k(x_i, x_j), energy's sum |x_i - x_j|, and the KDE
                             occupancies sum_j k(x_i, x_j) (run's kernel, self included);
     particles x samples     mmd2's sum k(x_i, y_k), energy's sum |x_i - y_k|
   (the samples' ring runs over PETSC_COMM_SELF when they are replicated, as in field.c).
   The sample x sample sums are constant and taken once at creation. sliced_w2 spreads its
   directions over the ranks, direction l to rank l mod P: in rounds of P directions, one
   MPI_Alltoallv per point set gathers every rank's projections on direction l to its
   rank, which sorts them and integrates the squared difference of the quantile functions
   exactly; every rank then holds the L values and adds them in direction order, so the
   result does not depend on the rank count. */
#include <math.h>
#include <stdint.h>
#include "ds_diagnostics.h"
#include "ds_init.h"
#include "ds_kernels.h"
#include "ds_ring.h"
#include "ds_log.h"
#include "ds_sinkhorn.h"
#include "ds_ecf.h"

/* Every diagnostic, in the order of ds_diagnostics.h. */
typedef enum { MMD2, ENERGY_DISTANCE, SLICED_W2, SINKHORN_DIVERGENCE, RECIPROCAL_KDE, SELF_INTERACTION, MIN_OCCUPANCY, MEAN_ERROR, COVARIANCE_ERROR, MODE_COVERAGE, NDIAGNOSTICS } DiagnosticId;

static const char *const diagnostic_names[NDIAGNOSTICS] = {"mmd2", "energy_distance", "sliced_w2", "sinkhorn_divergence", "reciprocal_kde", "self_interaction", "min_occupancy", "mean_error", "covariance_error", "mode_coverage"};

struct DSDiagnostics_ {
  MPI_Comm     comm;
  PetscMPIInt  rank, size;
  PetscInt     dim, local_count, global_count, particle_start;
  PetscInt     count;                /* diagnostics computed */
  DiagnosticId ids[NDIAGNOSTICS];    /* which, in order */
  PetscInt     fixed_count;          /* of them, the fixed list's (ids); then the ecf shells' */
  const char  *names[NDIAGNOSTICS + 2 * DS_MAX_ECF_SHELLS];
  PetscBool    want[NDIAGNOSTICS];
  DSKernelType kernel_type;          /* the run's kernel (KDE group) */
  PetscReal    beta;
  DSKernel     mmd_kernel;           /* gaussian of bandwidth -drift_mmd_bandwidth */
  DSRing       particle_ring, data_ring;
  PetscReal   *particles;            /* [d][local_count] this rank's particles */
  PetscReal   *mmd_value, *kde_value;  /* kernel value sums per particle ([n], [n]) */

  /* Samples y compared with: the target's, or drawn from an analytic target (partitioned). */
  PetscInt   samples_local, samples_start, samples_global;
  PetscBool  replicated;
  PetscReal *samples;                /* [d][samples_local] */
  PetscReal  mmd_yy, energy_yy;      /* mean_kl k(y_k, y_l) and mean_kl |y_k - y_l| */

  /* sliced_w2: unit directions, gather layouts, this rank's projections on the directions
     of a round ([P][n]), the gathered ones of its own direction, the squared W2 of each. */
  PetscInt     projections;
  PetscReal   *directions;           /* [L][d] */
  PetscMPIInt *particle_counts, *particle_displs, *sample_counts, *sample_displs;
  PetscMPIInt *send_counts, *send_displs, *no_counts; /* [P] per round; zeros */
  PetscReal   *projected, *gathered_x, *gathered_y, *direction_w2; /* direction_w2 [L]: W2^2 on each direction */

  DSSinkhorn sinkhorn; /* sinkhorn_divergence's solver, warm-started from one row to the next */
  DSEcf      ecf;      /* the characteristic function's error per shell, when shells are given */

  /* Mixture group: a copy of the target's mixture (factored once, at h = 0), its mean and
     covariance. */
  DSMixture *mixture;
  PetscReal *mu, *sigma;             /* [d], [d][d] */
  PetscReal *log_density;            /* [local_count][K] */
  PetscReal *moments_local, *moments_global; /* [d + K + d d] reduction buffers */
};

/* rms and squared centre of a velocity Vec, from its norm and per-coordinate sums. */
PetscErrorCode ds_diagnostics_velocity(Vec V, PetscReal *rms_velocity, PetscReal *center_velocity_sq)
{
  PetscInt  dim, size;
  PetscReal norm, center_sq = 0;

  PetscFunctionBeginUser;
  PetscCall(ds_log_register());
  PetscCall(PetscLogEventBegin(ds_events.diagnostics, 0, 0, 0, 0));
  PetscCall(VecGetBlockSize(V, &dim));
  PetscCall(VecGetSize(V, &size));
  PetscCall(VecNorm(V, NORM_2, &norm));
  *rms_velocity = norm / PetscSqrtReal((PetscReal)(size / dim));
  for (PetscInt c = 0; c < dim; c++) {
    PetscScalar sum;
    PetscCall(VecStrideSum(V, c, &sum));
    center_sq += PetscSqr(PetscRealPart(sum) / (size / dim));
  }
  *center_velocity_sq = center_sq;
  PetscCall(PetscLogEventEnd(ds_events.diagnostics, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Ring visit: the query block's sums against the visiting block, each only when asked for
   (mmd2's kernel values, the run's kernel values, distances). */
typedef struct {
  const DSBlock  *query;
  const DSKernel *mmd_kernel, *kde_kernel;
  DSKernelSums   *mmd_sums, *kde_sums;
  PetscBool       distances;
  PetscReal       distance_sum;
} PairVisit;

static PetscErrorCode visit_pairs(void *ctx, const DSBlock *visiting, PetscReal *unused)
{
  PairVisit     *v     = (PairVisit *)ctx;
  const PetscInt dim   = v->query->dim;
  PetscLogDouble flops = 0;

  PetscFunctionBeginUser;
  if (v->mmd_sums) {
    ds_kernel_sums(v->mmd_kernel, DS_WEIGHT_VALUE, v->query, visiting, PETSC_FALSE, v->mmd_sums);
    flops += 6.0 * dim + 2.0;
  }
  if (v->kde_sums) {
    ds_kernel_sums(v->kde_kernel, DS_WEIGHT_VALUE, v->query, visiting, PETSC_FALSE, v->kde_sums);
    flops += 6.0 * dim + 2.0;
  }
  if (v->distances) {
    v->distance_sum += ds_kernel_distance_sum(v->query, visiting);
    flops += 3.0 * dim + 2.0;
  }
  PetscCall(PetscLogFlops(flops * v->query->n * visiting->n));
  PetscFunctionReturn(0);
}

/* Appends diagnostic `id` to the list when `on`. */
static void add_diagnostic(DSDiagnostics D, DiagnosticId id, PetscBool on)
{
  if (!on) return;
  D->want[id]          = PETSC_TRUE;
  D->ids[D->count]     = id;
  D->names[D->count++] = diagnostic_names[id];
}

/* This rank's samples in structure of arrays: the target's, or M' = diagnostics_samples
   (N when 0) drawn from an analytic target on DS_STREAM_DIAGNOSTIC, split like particles. */
static PetscErrorCode samples_setup(DSDiagnostics D, const DSOptions *opts, const DSTarget *target)
{
  const PetscInt d = D->dim;

  PetscFunctionBeginUser;
  if (target->analytic) {
    PetscReal *rows;

    D->samples_global = opts->diagnostics_samples > 0 ? opts->diagnostics_samples : D->global_count;
    D->replicated     = PETSC_FALSE;
    PetscCall(ds_split_rows(D->comm, D->samples_global, &D->samples_local, &D->samples_start));
    PetscCall(PetscMalloc1(d * PetscMax(D->samples_local, 1), &rows));
    for (PetscInt i = 0; i < D->samples_local; i++) PetscCall(ds_target_draw(target->type, target->scale, d, (uint64_t)target->seed, DS_STREAM_DIAGNOSTIC, D->samples_start + i, &rows[i * d]));
    PetscCall(PetscMalloc1(d * PetscMax(D->samples_local, 1), &D->samples));
    ds_rows_to_soa(D->samples_local, d, rows, D->samples);
    PetscCall(PetscFree(rows));
  } else {
    D->samples_global = target->samples_global;
    D->samples_local  = target->samples_local;
    D->samples_start  = target->samples_start;
    D->replicated     = target->replicated;
    PetscCall(PetscMalloc1(d * PetscMax(D->samples_local, 1), &D->samples));
    ds_rows_to_soa(D->samples_local, d, target->samples, D->samples);
  }
  PetscFunctionReturn(0);
}

/* mean_kl k(y_k, y_l) with mmd2's kernel and mean_kl |y_k - y_l| over all sample pairs: each
   rank sums its rows (its share of them when replicated) against every sample. */
static PetscErrorCode sample_pair_means(DSDiagnostics D)
{
  const PetscInt d = D->dim, m = D->samples_local;
  PetscInt       qn = m, qs = 0;
  PetscReal     *value, local[2] = {0, 0}, global[2];

  PetscFunctionBeginUser;
  if (D->replicated) PetscCall(ds_split_rows(D->comm, m, &qn, &qs));
  PetscCall(PetscCalloc1(PetscMax(qn, 1), &value));
  DSBlock      query  = {qn, d, m, D->samples_start + qs, D->samples + qs, NULL};
  DSBlock      source = {m, d, m, D->samples_start, D->samples, NULL};
  DSKernelSums sums   = {.ld = qn, .value = value, .moment = NULL, .companion = NULL};
  PairVisit    visit  = {&query, &D->mmd_kernel, NULL, D->want[MMD2] ? &sums : NULL, NULL, D->want[ENERGY_DISTANCE], 0.0};
  PetscCall(ds_ring_pass(D->data_ring, &source, visit_pairs, &visit, 0, NULL));
  for (PetscInt i = 0; i < qn; i++) local[0] += value[i];
  local[1] = visit.distance_sum;
  PetscCallMPI(MPI_Allreduce(local, global, 2, MPIU_REAL, MPI_SUM, D->comm));
  D->mmd_yy    = global[0] / ((PetscReal)D->samples_global * D->samples_global);
  D->energy_yy = global[1] / ((PetscReal)D->samples_global * D->samples_global);
  PetscCall(PetscFree(value));
  PetscFunctionReturn(0);
}

/* Counts and displacements of every rank's `local` values, for MPI_Gatherv. */
static PetscErrorCode gather_layout(MPI_Comm comm, PetscMPIInt size, PetscInt local, PetscMPIInt **counts, PetscMPIInt **displs)
{
  PetscMPIInt n;

  PetscFunctionBeginUser;
  PetscCall(PetscMPIIntCast(local, &n));
  PetscCall(PetscMalloc2(size, counts, size, displs));
  PetscCallMPI(MPI_Allgather(&n, 1, MPI_INT, *counts, 1, MPI_INT, comm));
  (*displs)[0] = 0;
  for (PetscMPIInt p = 1; p < size; p++) (*displs)[p] = (*displs)[p - 1] + (*counts)[p - 1];
  PetscFunctionReturn(0);
}

/* sinkhorn_divergence set-up: its solver over the samples compared with (rows), with the
   divergence's epsilon. */
static PetscErrorCode sinkhorn_setup(DSDiagnostics D, const DSOptions *opts, const PetscReal *rows)
{
  DSSinkhornSettings settings;

  PetscFunctionBeginUser;
  ds_sinkhorn_settings(opts, PETSC_TRUE, &settings);
  PetscCall(ds_sinkhorn_create(D->comm, D->dim, D->local_count, D->samples_local, rows, D->replicated, &settings, &D->sinkhorn));
  PetscFunctionReturn(0);
}

/* The ecf shells' set-up: against the exact phi of an analytic mixture target, else the
   samples (rows); their names join the list. */
static PetscErrorCode ecf_setup(DSDiagnostics D, const DSOptions *opts, const DSTarget *target, const PetscReal *rows)
{
  const DSMixture *exact = target->analytic ? target->mixture : NULL;
  PetscInt         count;
  const char *const *names;

  PetscFunctionBeginUser;
  PetscCall(ds_ecf_create(D->comm, D->dim, opts->necf_shells, opts->ecf_shells, opts->ecf_directions, opts->seed, exact, exact ? 0 : D->samples_local, rows, D->replicated, D->global_count, &D->ecf));
  PetscCall(ds_ecf_get_names(D->ecf, &count, &names));
  for (PetscInt k = 0; k < count; k++) D->names[D->count++] = names[k];
  PetscFunctionReturn(0);
}

/* The samples' rows ([samples_local][d]) from their structure of arrays, for the solvers
   that take rows; NULL when there are no samples. */
static PetscErrorCode samples_rows(DSDiagnostics D, PetscReal **rows)
{
  PetscFunctionBeginUser;
  *rows = NULL;
  if (!D->samples) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(D->dim * PetscMax(D->samples_local, 1), rows));
  for (PetscInt k = 0; k < D->samples_local; k++)
    for (PetscInt c = 0; c < D->dim; c++) (*rows)[k * D->dim + c] = D->samples[c * D->samples_local + k];
  PetscFunctionReturn(0);
}

/* sliced_w2 set-up: direction l is the normalised vector of d normals (seed,
   DS_STREAM_PROJECTIONS, l); gather layouts and projection buffers. */
static PetscErrorCode sliced_setup(DSDiagnostics D, const DSOptions *opts)
{
  const PetscInt d = D->dim, L = opts->sliced_w2_projections;

  PetscFunctionBeginUser;
  D->projections = L;
  PetscCall(PetscMalloc1(L * d, &D->directions));
  for (PetscInt l = 0; l < L; l++) {
    PetscReal *theta = &D->directions[l * d], norm2 = 0;

    ds_rng_normals((uint64_t)opts->seed, DS_STREAM_PROJECTIONS, (uint64_t)l, 0, d, theta);
    for (PetscInt c = 0; c < d; c++) norm2 += theta[c] * theta[c];
    for (PetscInt c = 0; c < d; c++) theta[c] /= PetscSqrtReal(norm2);
  }
  PetscCall(gather_layout(D->comm, D->size, D->local_count, &D->particle_counts, &D->particle_displs));
  if (!D->replicated) PetscCall(gather_layout(D->comm, D->size, D->samples_local, &D->sample_counts, &D->sample_displs));
  PetscCall(PetscMalloc1(D->size * PetscMax(PetscMax(D->local_count, D->replicated ? 0 : D->samples_local), 1), &D->projected));
  PetscCall(PetscCalloc3(D->size, &D->send_counts, D->size, &D->send_displs, D->size, &D->no_counts));
  PetscCall(PetscMalloc1(L, &D->direction_w2));
  if (D->rank < L) PetscCall(PetscMalloc2(D->global_count, &D->gathered_x, D->samples_global, &D->gathered_y));
  PetscFunctionReturn(0);
}

/* Mixture group set-up: a copy of the mixture, its mean and covariance (ds_mixture_moments). */
static PetscErrorCode mixture_setup(DSDiagnostics D, const DSTarget *target)
{
  const PetscInt d = D->dim, K = target->mixture->components;

  PetscFunctionBeginUser;
  PetscCall(ds_mixture_duplicate(target->mixture, &D->mixture));
  PetscCall(PetscMalloc2(d, &D->mu, d * d, &D->sigma));
  PetscCall(PetscMalloc3(K * PetscMax(D->local_count, 1), &D->log_density, d + K + d * d, &D->moments_local, d + K + d * d, &D->moments_global));
  PetscCall(ds_mixture_moments(D->mixture, D->mu, D->sigma));
  PetscFunctionReturn(0);
}

/* Decides which diagnostics apply, then prepares their constant parts (samples, sample-pair
   means, directions, the mixture's moments). */
PetscErrorCode ds_diagnostics_create(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, PetscInt local_count, DSDiagnostics *diagnostics)
{
  DSDiagnostics D;
  DSKernel      unit;
  const PetscInt groups = opts->diagnostics;

  PetscFunctionBeginUser;
  PetscCall(ds_log_register());
  PetscCall(PetscNew(&D));
  D->comm        = comm;
  D->dim         = opts->dim;
  D->local_count = local_count;
  D->kernel_type = opts->kernel;
  D->beta        = opts->imq_beta;
  PetscCallMPI(MPI_Comm_rank(comm, &D->rank));
  PetscCallMPI(MPI_Comm_size(comm, &D->size));
  PetscCall(ds_ring_create(comm, D->dim, local_count, 0, &D->particle_ring));
  PetscCall(ds_ring_get_layout(D->particle_ring, &D->particle_start, &D->global_count));
  ds_kernel_setup(DS_KERNEL_GAUSSIAN, opts->mmd_bandwidth, 0.0, &D->mmd_kernel);

  /* Which diagnostics apply: normalisability and smoothness at 0 do not depend on h. */
  ds_kernel_setup(opts->kernel, 1.0, opts->imq_beta, &unit);
  const PetscBool kde          = (groups & DS_DIAGNOSTIC_KDE) ? PETSC_TRUE : PETSC_FALSE;
  const PetscBool normalisable = PetscIsInfOrNanReal(ds_kernel_normalisation(&unit, D->dim)) ? PETSC_FALSE : PETSC_TRUE;
  const PetscBool smooth       = PetscIsNanReal(ds_kernel_laplacian_at_zero(&unit, D->dim)) ? PETSC_FALSE : PETSC_TRUE;
  const PetscBool mixture      = (groups & DS_DIAGNOSTIC_MIXTURE) && target->mixture ? PETSC_TRUE : PETSC_FALSE;
  add_diagnostic(D, MMD2, (groups & DS_DIAGNOSTIC_MMD2) ? PETSC_TRUE : PETSC_FALSE);
  add_diagnostic(D, ENERGY_DISTANCE, (groups & DS_DIAGNOSTIC_ENERGY) ? PETSC_TRUE : PETSC_FALSE);
  add_diagnostic(D, SLICED_W2, (groups & DS_DIAGNOSTIC_SLICED_W2) ? PETSC_TRUE : PETSC_FALSE);
  add_diagnostic(D, SINKHORN_DIVERGENCE, (groups & DS_DIAGNOSTIC_SINKHORN) ? PETSC_TRUE : PETSC_FALSE);
  add_diagnostic(D, RECIPROCAL_KDE, kde && normalisable);
  add_diagnostic(D, SELF_INTERACTION, kde && normalisable && smooth);
  add_diagnostic(D, MIN_OCCUPANCY, kde);
  add_diagnostic(D, MEAN_ERROR, mixture);
  add_diagnostic(D, COVARIANCE_ERROR, mixture);
  add_diagnostic(D, MODE_COVERAGE, mixture);

  PetscCall(PetscLogEventBegin(ds_events.diagnostics, 0, 0, 0, 0));
  const PetscBool ecf = (groups & DS_DIAGNOSTIC_ECF) && opts->necf_shells > 0 ? PETSC_TRUE : PETSC_FALSE;
  D->fixed_count       = D->count;
  if (D->want[MMD2] || D->want[ENERGY_DISTANCE] || D->want[SLICED_W2] || D->want[SINKHORN_DIVERGENCE] || (ecf && !(target->analytic && target->mixture))) PetscCall(samples_setup(D, opts, target));
  if (D->want[MMD2] || D->want[ENERGY_DISTANCE]) {
    PetscCall(ds_ring_create(D->replicated ? PETSC_COMM_SELF : comm, D->dim, D->samples_local, 0, &D->data_ring));
    PetscCall(sample_pair_means(D));
  }
  if (D->want[SLICED_W2]) PetscCall(sliced_setup(D, opts));
  if (D->want[SINKHORN_DIVERGENCE] || ecf) {
    PetscReal     *rows;
    PetscErrorCode ierr;
    PetscCall(samples_rows(D, &rows));
    ierr = D->want[SINKHORN_DIVERGENCE] ? sinkhorn_setup(D, opts, rows) : 0;
    if (!ierr && ecf) ierr = ecf_setup(D, opts, target, rows);
    PetscCall(PetscFree(rows));
    PetscCall(ierr);
  }
  if (mixture) PetscCall(mixture_setup(D, target));
  PetscCall(PetscLogEventEnd(ds_events.diagnostics, 0, 0, 0, 0));
  PetscCall(PetscMalloc3(D->dim * PetscMax(local_count, 1), &D->particles, PetscMax(local_count, 1), &D->mmd_value, PetscMax(local_count, 1), &D->kde_value));
  *diagnostics = D;
  PetscFunctionReturn(0);
}

/* The names fixed at creation. */
PetscErrorCode ds_diagnostics_get_names(DSDiagnostics D, PetscInt *count, const char *const **names)
{
  PetscFunctionBeginUser;
  *count = D->count;
  if (names) *names = (const char *const *)D->names;
  PetscFunctionReturn(0);
}

/* mmd2, energy_distance and the KDE group from one ring pass over the particles (already in
   D->particles) and one over the samples. */
static PetscErrorCode pair_diagnostics(DSDiagnostics D, PetscReal h, PetscReal *all)
{
  const PetscInt  n = D->local_count, d = D->dim;
  const PetscBool mmd = D->want[MMD2], energy = D->want[ENERGY_DISTANCE], kde = D->want[MIN_OCCUPANCY];
  const PetscReal N = (PetscReal)D->global_count, M = (PetscReal)D->samples_global;
  PetscReal       local[5] = {0, 0, 0, 0, 0}, global[5], min_local = PETSC_MAX_REAL, min_occupancy; /* sums: xx, xy, |xx|, |xy|, 1/occupancy */
  DSKernel        kernel;

  PetscFunctionBeginUser;
  if (!(mmd || energy || kde)) PetscFunctionReturn(0);
  PetscCheck(!kde || h > 0, D->comm, PETSC_ERR_ARG_OUTOFRANGE, "bandwidth h = %g of the KDE diagnostics must be positive", (double)h);
  ds_kernel_setup(D->kernel_type, h, D->beta, &kernel);
  PetscCall(PetscArrayzero(D->mmd_value, n));
  PetscCall(PetscArrayzero(D->kde_value, n));
  DSBlock      particles = {n, d, n, D->particle_start, D->particles, NULL};
  DSKernelSums mmd_sums  = {.ld = n, .value = D->mmd_value, .moment = NULL, .companion = NULL}, kde_sums = {.ld = n, .value = D->kde_value, .moment = NULL, .companion = NULL}; /* values only */
  PairVisit    visit     = {&particles, &D->mmd_kernel, &kernel, mmd ? &mmd_sums : NULL, kde ? &kde_sums : NULL, energy, 0.0};
  PetscCall(ds_ring_pass(D->particle_ring, &particles, visit_pairs, &visit, 0, NULL));
  for (PetscInt i = 0; i < n; i++) local[0] += D->mmd_value[i];
  local[2] = visit.distance_sum;
  if (kde)
    for (PetscInt i = 0; i < n; i++) {
      local[4] += 1.0 / D->kde_value[i];
      min_local = PetscMin(min_local, D->kde_value[i]);
    }

  if (mmd || energy) {
    DSBlock data = {D->samples_local, d, D->samples_local, D->samples_start, D->samples, NULL};
    PetscCall(PetscArrayzero(D->mmd_value, n));
    visit.kde_sums     = NULL;
    visit.distance_sum = 0.0;
    PetscCall(ds_ring_pass(D->data_ring, &data, visit_pairs, &visit, 0, NULL));
    for (PetscInt i = 0; i < n; i++) local[1] += D->mmd_value[i];
    local[3] = visit.distance_sum;
  }
  PetscCallMPI(MPI_Allreduce(local, global, 5, MPIU_REAL, MPI_SUM, D->comm));
  PetscCallMPI(MPI_Allreduce(&min_local, &min_occupancy, 1, MPIU_REAL, MPI_MIN, D->comm));
  if (mmd) all[MMD2] = global[0] / (N * N) - 2.0 * global[1] / (N * M) + D->mmd_yy;
  if (energy) all[ENERGY_DISTANCE] = 2.0 * global[3] / (N * M) - global[2] / (N * N) - D->energy_yy;
  /* R_N = 1/N sum_i 1/q(x_i) with q(x_i) = occupancy_i / (N Z); Laplacian K_h(0) = Laplacian k(0) / Z. */
  if (D->want[RECIPROCAL_KDE]) all[RECIPROCAL_KDE] = ds_kernel_normalisation(&kernel, d) * global[4];
  if (D->want[SELF_INTERACTION]) all[SELF_INTERACTION] = PetscAbsReal(ds_kernel_laplacian_at_zero(&kernel, d)) / ds_kernel_normalisation(&kernel, d) * all[RECIPROCAL_KDE] / N;
  if (kde) all[MIN_OCCUPANCY] = min_occupancy;
  PetscFunctionReturn(0);
}

/* Exact integral over u in (0, 1) of (F_a^{-1}(u) - F_b^{-1}(u))^2 for sorted a (n values)
   and b (m values): the quantile functions are steps, a_i on [i/n, (i+1)/n) and b_j on
   [j/m, (j+1)/m); their merged breakpoints, in units of 1/(n m), are exact integers. */
static PetscReal w2_squared(PetscInt n, const PetscReal *a, PetscInt m, const PetscReal *b)
{
  int64_t   previous = 0;
  PetscInt  i = 0, j = 0;
  PetscReal sum = 0;

  while (i < n && j < m) {
    const int64_t end_a = (int64_t)(i + 1) * m, end_b = (int64_t)(j + 1) * n, next = PetscMin(end_a, end_b);
    sum += (PetscReal)(next - previous) * PetscSqr(a[i] - b[j]);
    previous = next;
    if (end_a == next) i++;
    if (end_b == next) j++;
  }
  return sum / ((PetscReal)n * (PetscReal)m);
}

/* p_i = theta . z_i for n points in structure of arrays ([d][ld]). */
static void project(PetscInt n, PetscInt dim, PetscInt ld, const PetscReal *z, const PetscReal *theta, PetscReal *p)
{
  for (PetscInt i = 0; i < n; i++) p[i] = 0;
  for (PetscInt c = 0; c < dim; c++)
    for (PetscInt i = 0; i < n; i++) p[i] += z[c * ld + i] * theta[c];
}

/* One round of sliced_w2's gathers: rank q receives in `gathered` every rank's projections
   on direction first + q (when there is one) of the `local` points z ([d][local]), laid
   out by counts and displs. */
static PetscErrorCode gather_round(DSDiagnostics D, PetscInt first, PetscInt local, const PetscReal *z, const PetscMPIInt *counts, const PetscMPIInt *displs, PetscReal *gathered)
{
  const PetscInt d = D->dim, L = D->projections;

  PetscFunctionBeginUser;
  for (PetscMPIInt q = 0; q < D->size; q++) {
    const PetscBool sent = first + q < L ? PETSC_TRUE : PETSC_FALSE;

    if (sent) project(local, d, local, z, &D->directions[(first + q) * d], D->projected + q * local);
    PetscCall(PetscMPIIntCast(sent ? local : 0, &D->send_counts[q]));
    PetscCall(PetscMPIIntCast(q * local, &D->send_displs[q]));
  }
  PetscCallMPI(MPI_Alltoallv(D->projected, D->send_counts, D->send_displs, MPIU_REAL, gathered, first + D->rank < L ? counts : D->no_counts, displs, MPIU_REAL, D->comm));
  PetscFunctionReturn(0);
}

/* sliced_w2 = sqrt(1/L sum_l W2^2(theta_l . X, theta_l . Y)), W2^2 of direction l computed
   on rank l mod P, the sum taken on every rank in direction order (the particles must be in
   D->particles). */
static PetscErrorCode sliced_w2(DSDiagnostics D, PetscReal *value)
{
  const PetscInt d = D->dim, N = D->global_count, M = D->samples_global, L = D->projections;
  PetscReal      sum = 0;
  PetscMPIInt    L_mpi;

  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(D->direction_w2, L));
  for (PetscInt first = 0; first < L; first += D->size) {
    const PetscInt mine = first + D->rank; /* this rank's direction in the round */

    PetscCall(gather_round(D, first, D->local_count, D->particles, D->particle_counts, D->particle_displs, D->gathered_x));
    if (!D->replicated) PetscCall(gather_round(D, first, D->samples_local, D->samples, D->sample_counts, D->sample_displs, D->gathered_y));
    else if (mine < L) project(M, d, M, D->samples, &D->directions[mine * d], D->gathered_y);
    if (mine < L) {
      PetscCall(PetscSortReal(N, D->gathered_x));
      PetscCall(PetscSortReal(M, D->gathered_y));
      D->direction_w2[mine] = w2_squared(N, D->gathered_x, M, D->gathered_y);
    }
  }
  /* Entry l is 0 on every rank but its own, so the sum over ranks is exact and the same everywhere. */
  PetscCall(PetscMPIIntCast(L, &L_mpi));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, D->direction_w2, L_mpi, MPIU_REAL, MPI_SUM, D->comm));
  for (PetscInt l = 0; l < L; l++) sum += D->direction_w2[l];
  *value = PetscSqrtReal(sum / L);
  PetscFunctionReturn(0);
}

/* mean_error |mean(x) - mu|, covariance_error ||Cov(x) - Sigma||_F (1/N, two passes) and
   mode_coverage: the fraction of components k whose count of particles assigned to them
   (argmax_k log w_k + log N(x; m_k, C_k)) is at least w_k N / 2. */
static PetscErrorCode mixture_diagnostics(DSDiagnostics D, const PetscReal *x, PetscReal *all)
{
  const PetscInt  n = D->local_count, d = D->dim, K = D->mixture->components;
  const PetscReal N = (PetscReal)D->global_count;
  PetscReal      *sum = D->moments_local, *total = D->moments_global, *counts = sum + d, *cov = sum + d + K, mean_error = 0, covariance_error = 0, covered = 0;
  PetscMPIInt     first_count, cov_count;

  PetscFunctionBeginUser;
  PetscCall(PetscMPIIntCast(d + K, &first_count));
  PetscCall(PetscMPIIntCast(d * d, &cov_count));
  PetscCall(PetscArrayzero(sum, d + K + d * d));
  PetscCall(ds_mixture_component_log_densities(D->mixture, 0.0, n, x, D->log_density));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal *logp = &D->log_density[i * K];
    PetscInt         best = 0;

    for (PetscInt k = 1; k < K; k++)
      if (logp[k] > logp[best]) best = k;
    counts[best] += 1;
    for (PetscInt a = 0; a < d; a++) sum[a] += x[i * d + a];
  }
  PetscCallMPI(MPI_Allreduce(sum, total, first_count, MPIU_REAL, MPI_SUM, D->comm));
  for (PetscInt a = 0; a < d; a++) total[a] /= N;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt a = 0; a < d; a++)
      for (PetscInt b = 0; b < d; b++) cov[a * d + b] += (x[i * d + a] - total[a]) * (x[i * d + b] - total[b]);
  PetscCallMPI(MPI_Allreduce(cov, total + d + K, cov_count, MPIU_REAL, MPI_SUM, D->comm));
  for (PetscInt a = 0; a < d; a++) mean_error += PetscSqr(total[a] - D->mu[a]);
  for (PetscInt e = 0; e < d * d; e++) covariance_error += PetscSqr(total[d + K + e] / N - D->sigma[e]);
  for (PetscInt k = 0; k < K; k++)
    if (total[d + k] >= 0.5 * D->mixture->weights[k] * N) covered += 1;
  all[MEAN_ERROR]       = PetscSqrtReal(mean_error);
  all[COVARIANCE_ERROR] = PetscSqrtReal(covariance_error);
  all[MODE_COVERAGE]    = covered / K;
  PetscFunctionReturn(0);
}

/* Every diagnostic of the list at X with the run's kernel at h, inside the DSDiagnostics event. */
PetscErrorCode ds_diagnostics_compute(DSDiagnostics D, Vec X, PetscReal h, PetscReal *values)
{
  const PetscReal *x;
  PetscReal        all[NDIAGNOSTICS];
  PetscInt         local_size;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(ds_events.diagnostics, 0, 0, 0, 0));
  PetscCall(VecGetLocalSize(X, &local_size));
  PetscCheck(local_size == D->local_count * D->dim, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "particle Vec with %" PetscInt_FMT " local entries given to diagnostics created for %" PetscInt_FMT " particles of dimension %" PetscInt_FMT, local_size, D->local_count, D->dim);
  PetscCall(VecGetArrayRead(X, &x));
  ds_rows_to_soa(D->local_count, D->dim, x, D->particles);
  PetscCall(pair_diagnostics(D, h, all));
  if (D->want[SLICED_W2]) PetscCall(sliced_w2(D, &all[SLICED_W2]));
  if (D->want[SINKHORN_DIVERGENCE]) {
    PetscCall(ds_sinkhorn_set_particles(D->sinkhorn, x));
    PetscCall(ds_sinkhorn_divergence(D->sinkhorn, &all[SINKHORN_DIVERGENCE]));
  }
  if (D->want[MODE_COVERAGE]) PetscCall(mixture_diagnostics(D, x, all));
  if (D->ecf) PetscCall(ds_ecf_compute(D->ecf, D->local_count, x, values + D->fixed_count));
  PetscCall(VecRestoreArrayRead(X, &x));
  for (PetscInt k = 0; k < D->fixed_count; k++) values[k] = all[D->ids[k]];
  PetscCall(PetscLogEventEnd(ds_events.diagnostics, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Frees the rings and buffers. */
PetscErrorCode ds_diagnostics_destroy(DSDiagnostics *diagnostics)
{
  DSDiagnostics D = *diagnostics;

  PetscFunctionBeginUser;
  if (!D) PetscFunctionReturn(0);
  PetscCall(ds_ring_destroy(&D->particle_ring));
  PetscCall(ds_ring_destroy(&D->data_ring));
  PetscCall(PetscFree3(D->particles, D->mmd_value, D->kde_value));
  PetscCall(PetscFree(D->samples));
  PetscCall(PetscFree(D->directions));
  PetscCall(PetscFree2(D->particle_counts, D->particle_displs));
  PetscCall(PetscFree2(D->sample_counts, D->sample_displs));
  PetscCall(PetscFree(D->projected));
  PetscCall(PetscFree3(D->send_counts, D->send_displs, D->no_counts));
  PetscCall(PetscFree(D->direction_w2));
  PetscCall(PetscFree2(D->gathered_x, D->gathered_y));
  PetscCall(ds_sinkhorn_destroy(&D->sinkhorn));
  PetscCall(ds_ecf_destroy(&D->ecf));
  PetscCall(ds_mixture_destroy(&D->mixture));
  PetscCall(PetscFree2(D->mu, D->sigma));
  PetscCall(PetscFree3(D->log_density, D->moments_local, D->moments_global));
  PetscCall(PetscFree(D));
  *diagnostics = NULL;
  PetscFunctionReturn(0);
}

/* The Stein drift and the smoothed Fisher discrepancy (ds_stein.h). SD_t takes one ring
   pass over the particles and, for a sample target, one over the samples, accumulating
   the kernel moments S0, S1 and S2 of every particle, or, with -drift_sum fgt (or auto,
   where the transform is cheaper than every pair), the fast Gauss transform's sums with
   its exact fallback (ds_fgt.h); J_t evaluates the run's field at Q Gaussian offsets of
   every particle. */
#include <string.h>
#include "ds_stein.h"
#include "ds_kernels.h"
#include "ds_ring.h"
#include "ds_fgt.h"
#include "ds_rng.h"
#include "ds_mixture.h"
#include "ds_log.h"

struct DSStein_ {
  MPI_Comm   comm;
  DSTarget  *target;
  DSField    field;
  PetscInt   dim, local_count, global_count, particle_start, draws;
  PetscInt   seed;
  DSRing     particle_ring, data_ring;
  PetscReal *particles, *data; /* [d][n] structure of arrays */
  PetscInt   data_start;
  /* Per particle: the kernel moments against the particles (value, moment, second) and the
     samples, the target's score ([n][d]) and Laplacian. */
  PetscReal *value_x, *moment_x, *second_x, *value_y, *moment_y, *second_y, *score, *laplacian;
  PetscReal *grad_rho;        /* [d] grad log rho_h at one particle */
  DSSumMethod sum;            /* -drift_sum: fgt and auto take the transform where it serves */
  PetscReal   sum_tol;
  DSFgt       fgt;            /* the transform's communicator, when -drift_sum is fgt or auto */
  PetscReal  *bound;          /* [3][n] the transform's bounds */
  Vec        query, velocity; /* J's query points and the field there */
};

PetscBool ds_stein_applies(const DSOptions *o)
{
  return (!strcmp(o->field, "conservative") && o->kernel == DS_KERNEL_GAUSSIAN) ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode ds_stein_create(MPI_Comm comm, const DSOptions *o, DSTarget *target, DSField field, PetscInt local_count, DSStein *stein)
{
  DSStein        S;
  const PetscInt d = o->dim, n = PetscMax(local_count, 1);

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&S));
  S->comm        = comm;
  S->target      = target;
  S->field       = field;
  S->dim         = d;
  S->local_count = local_count;
  S->draws       = o->fisher_draws;
  S->seed        = o->seed;
  S->sum         = o->sum;
  S->sum_tol     = o->sum_tol;
  if ((o->sum == DS_SUM_FGT || o->sum == DS_SUM_AUTO) && d <= 3) PetscCall(ds_fgt_create(comm, &S->fgt));
  PetscCall(PetscMalloc1(3 * n, &S->bound));
  PetscCall(ds_ring_create(comm, d, local_count, 0, &S->particle_ring));
  PetscCall(ds_ring_get_layout(S->particle_ring, &S->particle_start, &S->global_count));
  PetscCall(PetscMalloc1(d * n, &S->particles));
  if (!target->analytic) {
    PetscCall(ds_ring_create(target->replicated ? PETSC_COMM_SELF : comm, d, target->samples_local, 0, &S->data_ring));
    PetscCall(ds_ring_get_layout(S->data_ring, &S->data_start, NULL));
    PetscCall(PetscMalloc1(d * PetscMax(target->samples_local, 1), &S->data));
    ds_rows_to_soa(target->samples_local, d, target->samples, S->data);
  }
  PetscCall(PetscMalloc4(n, &S->value_x, d * n, &S->moment_x, n, &S->second_x, n, &S->value_y));
  PetscCall(PetscMalloc5(d * n, &S->moment_y, n, &S->second_y, d * n, &S->score, n, &S->laplacian, d, &S->grad_rho));
  if (S->draws > 0) {
    PetscCall(VecCreateMPI(comm, local_count * S->draws * d, PETSC_DETERMINE, &S->query));
    PetscCall(VecSetBlockSize(S->query, d));
    PetscCall(VecDuplicate(S->query, &S->velocity));
  }
  *stein = S;
  PetscFunctionReturn(0);
}

typedef struct {
  const DSKernel *kernel;
  const DSBlock  *query;
  DSKernelSums   *sums;
} MomentVisit;

static PetscErrorCode visit_moments(void *ctx, const DSBlock *visiting, PetscReal *unused)
{
  MomentVisit *v = (MomentVisit *)ctx;

  PetscFunctionBeginUser;
  ds_kernel_sums(v->kernel, DS_WEIGHT_VALUE, v->query, visiting, PETSC_FALSE, v->sums);
  PetscCall(PetscLogFlops((6.0 * v->query->dim + 5.0) * v->query->n * visiting->n));
  PetscFunctionReturn(0);
}

/* The moments S0, S1, S2 of the particles (query) against every point of `ring`'s blocks
   (this rank's `local`; every rank's own when `replicated`): by the transform when the
   options ask for it (fgt) or it is cheaper than every pair (auto), else by a ring pass. */
static PetscErrorCode moments(DSStein S, const DSKernel *K, DSRing ring, const DSBlock *local, PetscBool replicated, const DSBlock *query, PetscReal *value, PetscReal *moment, PetscReal *second)
{
  DSKernelSums sums  = {.ld = query->n, .value = value, .moment = moment, .second = second};
  MomentVisit  visit = {K, query, &sums};

  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(value, query->n));
  PetscCall(PetscArrayzero(moment, query->dim * query->n));
  PetscCall(PetscArrayzero(second, query->n));
  if (S->fgt) {
    DSFgtPlan      plan;
    PetscReal      lo[3], hi[3], extent[3], flops;
    PetscInt       ns, uncertified;
    PetscLogDouble pairs;
    PetscCall(ds_fgt_bounding_box(S->fgt, query, local, lo, hi));
    PetscCall(ds_ring_get_layout(ring, NULL, &ns));
    for (PetscInt c = 0; c < query->dim; c++) extent[c] = hi[c] - lo[c];
    ds_fgt_choose(S->fgt, query->dim, K->h, S->sum_tol, extent, S->global_count, ns, &plan, &flops);
    PetscCheck(plan.nodes || S->sum != DS_SUM_FGT, S->comm, PETSC_ERR_SUP, "-drift_sum fgt: no box side gives -drift_sum_tol %g at h = %g for the Stein drift's sums", (double)S->sum_tol, (double)K->h);
    if (plan.nodes && (S->sum == DS_SUM_FGT || flops * DS_FGT_PAIRS_PER_OPERATION < (PetscReal)S->global_count * ns)) {
      PetscCall(ds_fgt_sums(S->fgt, &plan, lo, hi, K, DS_WEIGHT_VALUE, query, local, replicated, PETSC_FALSE, &sums, S->bound));
      PetscCall(ds_sums_recompute_uncertified(S->comm, ring, local, K, DS_WEIGHT_VALUE, query, PETSC_FALSE, ds_sums_certify(S->sum_tol), &sums, S->bound, &uncertified, &pairs));
      PetscFunctionReturn(0);
    }
  }
  PetscCall(ds_ring_pass(ring, local, visit_moments, &visit, 0, NULL));
  PetscFunctionReturn(0);
}

/* grad log and Lap log of a gaussian KDE at particle i from its moments ([d][n] layout);
   a KDE that underflowed (S0 = 0) gives grad 0 and Lap -d / h^2, as the field takes t_S = 0. */
static PetscReal kde_log_derivatives(PetscInt d, PetscInt n, PetscInt i, PetscReal h, const PetscReal *value, const PetscReal *moment, const PetscReal *second, PetscReal *grad)
{
  const PetscReal h2 = h * h, inv = value[i] > 0 ? 1.0 / value[i] : 0.0;
  PetscReal       s1 = 0;

  for (PetscInt c = 0; c < d; c++) {
    const PetscReal m = moment[c * n + i] * inv;
    grad[c] = -m / h2;
    s1 += m * m;
  }
  return second[i] * inv / (h2 * h2) - d / h2 - s1 / (h2 * h2);
}

PetscErrorCode ds_stein_drift(DSStein S, Vec X, PetscReal h, PetscReal *sd)
{
  const PetscInt   d = S->dim, n = S->local_count;
  const PetscReal *x;
  PetscReal        local = 0;
  DSKernel         K;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(ds_events.diagnostics, 0, 0, 0, 0));
  ds_kernel_setup(DS_KERNEL_GAUSSIAN, h, 0.0, &K);
  PetscCall(VecGetArrayRead(X, &x));
  ds_rows_to_soa(n, d, x, S->particles);
  DSBlock particles = {n, d, n, S->particle_start, S->particles, NULL};
  PetscCall(moments(S, &K, S->particle_ring, &particles, PETSC_FALSE, &particles, S->value_x, S->moment_x, S->second_x));
  if (S->target->analytic) PetscCall(ds_mixture_score_laplacian(S->target->mixture, h, n, x, S->score, S->laplacian));
  else {
    DSBlock data = {S->target->samples_local, d, S->target->samples_local, S->data_start, S->data, NULL};
    PetscCall(moments(S, &K, S->data_ring, &data, S->target->replicated, &particles, S->value_y, S->moment_y, S->second_y));
    for (PetscInt i = 0; i < n; i++) S->laplacian[i] = kde_log_derivatives(d, n, i, h, S->value_y, S->moment_y, S->second_y, &S->score[i * d]);
  }
  PetscCall(VecRestoreArrayRead(X, &x));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal  lap_rho = kde_log_derivatives(d, n, i, h, S->value_x, S->moment_x, S->second_x, S->grad_rho);
    const PetscReal *grad_nu = &S->score[i * d];
    PetscReal        drift   = 0;
    for (PetscInt c = 0; c < d; c++) drift += (grad_nu[c] - S->grad_rho[c]) * grad_nu[c];
    local += S->laplacian[i] - lap_rho + drift;
  }
  PetscCallMPI(MPI_Allreduce(&local, sd, 1, MPIU_REAL, MPI_SUM, S->comm));
  *sd /= S->global_count;
  PetscCall(PetscLogEventEnd(ds_events.diagnostics, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_stein_fisher(DSStein S, Vec X, PetscReal h, PetscInt step, PetscReal *fisher, PetscReal *standard_error)
{
  const PetscInt     d = S->dim, n = S->local_count, Q = S->draws;
  const PetscScalar *x, *v;
  PetscScalar       *z;
  PetscReal          local[2] = {0, 0}, global[2];

  PetscFunctionBeginUser;
  PetscCheck(Q >= 2, S->comm, PETSC_ERR_ARG_OUTOFRANGE, "the Fisher discrepancy needs -drift_fisher_draws >= 2 (%" PetscInt_FMT " given)", Q);
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArrayWrite(S->query, &z));
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt q = 0; q < Q; q++) {
      const uint64_t index = ((uint64_t)step * (uint64_t)S->global_count + (uint64_t)(S->particle_start + i)) * (uint64_t)Q + (uint64_t)q;
      PetscScalar   *point = &z[(i * Q + q) * d];
      ds_rng_normals((uint64_t)S->seed, DS_STREAM_FISHER, index, 0, d, point);
      for (PetscInt c = 0; c < d; c++) point[c] = x[i * d + c] + h * point[c];
    }
  PetscCall(VecRestoreArrayWrite(S->query, &z));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(ds_field_evaluate_at(S->field, h, X, S->query, S->velocity));
  PetscCall(VecGetArrayRead(S->velocity, &v));
  for (PetscInt i = 0; i < n; i++) {
    PetscReal sum = 0, sum_sq = 0;
    for (PetscInt q = 0; q < Q; q++) {
      PetscReal f = 0;
      for (PetscInt c = 0; c < d; c++) f += PetscSqr(v[(i * Q + q) * d + c]);
      sum += f;
      sum_sq += f * f;
    }
    const PetscReal mean = sum / Q;
    local[0] += mean;
    local[1] += PetscMax(sum_sq - Q * mean * mean, 0.0) / (Q - 1) / Q;
  }
  PetscCall(VecRestoreArrayRead(S->velocity, &v));
  PetscCallMPI(MPI_Allreduce(local, global, 2, MPIU_REAL, MPI_SUM, S->comm));
  *fisher         = global[0] / S->global_count;
  *standard_error = PetscSqrtReal(global[1]) / S->global_count;
  PetscFunctionReturn(0);
}

/* One free per buffer of ds_stein_create: the same shape as ds_diagnostics_destroy, whose
   object holds the same kind of rings and buffers; nothing to share but the pattern. */
PetscErrorCode ds_stein_destroy(DSStein *stein)
{
  DSStein S = *stein;

  PetscFunctionBeginUser;
  if (!S) PetscFunctionReturn(0);
  PetscCall(ds_ring_destroy(&S->particle_ring));
  PetscCall(ds_ring_destroy(&S->data_ring));
  PetscCall(ds_fgt_destroy(&S->fgt));
  PetscCall(PetscFree(S->bound));
  PetscCall(PetscFree(S->particles));
  PetscCall(PetscFree(S->data));
  PetscCall(PetscFree4(S->value_x, S->moment_x, S->second_x, S->value_y));
  PetscCall(PetscFree5(S->moment_y, S->second_y, S->score, S->laplacian, S->grad_rho));
  PetscCall(VecDestroy(&S->query));
  PetscCall(VecDestroy(&S->velocity));
  PetscCall(PetscFree(*stein));
  PetscFunctionReturn(0);
}

/* Conservative and displacement fields (SCIENCE.md items 1 and 2).

   Both come from one quantity per source set S, the relative moment
     t_S(z) = sum_s f(z, s) (z - s) / sum_s k(z, s)
   with f = g, the kernel's gradient factor, for the conservative field (t_S = grad log of
   the KDE of S) and f = k for the displacement field (t_S = z - m_S(z)). Then
     conservative   b(z) = t_Y(z) - t_X(z)     (grad log nu_h - grad log mu_h)
     displacement   V(z) = t_X(z) - t_Y(z)     (m_Y - m_X)
   With an analytic target, t_Y is grad log nu_h (conservative) or -h^2 grad log nu_h
   (displacement, since m_Y = z + h^2 grad log nu_h for the gaussian kernel).
   A kernel sum that underflowed to 0 gives t_S = 0: that set exerts no drift. */
#include "ds_field.h"
#include "ds_kernels.h"
#include "ds_ring.h"
#include "ds_log.h"

#if defined(PETSC_USE_COMPLEX)
  #error "driftsim needs a real-scalar PETSc build"
#endif

struct DSField_ {
  MPI_Comm    comm;
  DSFieldType type;
  DSKernel    kernel;
  DSWeight    weight;
  PetscBool   exclude_self;
  DSTarget   *target;
  PetscInt    dim, local_count;
  DSRing      particle_ring, data_ring;
  PetscReal  *particles; /* [d][local_count] this rank's particles, structure of arrays */
  PetscReal  *data;      /* [d][samples_local] this rank's target samples (constant) */
  /* Per query point, grown on demand by evaluate_at: the query points and t_X, t_Y
     ([d][capacity]), the analytic target score ([capacity][d]) and the kernel sums. */
  PetscInt       capacity;
  PetscReal     *query, *t_x, *t_y, *score;
  DSKernelSums   sums_x, sums_y;
  PetscLogDouble pairs;
};

/* What a ring visit needs: the query block and where its sums go. */
typedef struct {
  DSField       field;
  const DSBlock *query;
  DSKernelSums  *sums;
  PetscBool      exclude_self;
} Visit;

static PetscErrorCode visit_block(void *ctx, const DSBlock *visiting, PetscReal *accumulators)
{
  Visit *v = (Visit *)ctx;

  PetscFunctionBeginUser;
  ds_kernel_sums(&v->field->kernel, v->field->weight, v->query, visiting, v->exclude_self, v->sums);
  v->field->pairs += (PetscLogDouble)v->query->n * visiting->n;
  /* Distance (3 per coordinate), moment (3 per coordinate), value sum and kernel (2). */
  PetscCall(PetscLogFlops((6.0 * v->query->dim + 2.0) * v->query->n * visiting->n));
  PetscFunctionReturn(0);
}

/* Row-major rows [n][d] to structure of arrays [d][n]. */
static void rows_to_soa(PetscInt n, PetscInt dim, const PetscReal *rows, PetscReal *soa)
{
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt c = 0; c < dim; c++) soa[c * n + i] = rows[i * dim + c];
}

static PetscErrorCode ensure_capacity(DSField f, PetscInt n)
{
  const PetscInt d = f->dim;

  PetscFunctionBeginUser;
  if (n <= f->capacity && f->query) PetscFunctionReturn(0);
  PetscCall(PetscFree5(f->query, f->t_x, f->t_y, f->score, f->sums_x.value));
  PetscCall(PetscFree3(f->sums_x.moment, f->sums_y.value, f->sums_y.moment));
  f->capacity = PetscMax(n, 1);
  PetscCall(PetscMalloc5(d * f->capacity, &f->query, d * f->capacity, &f->t_x, d * f->capacity, &f->t_y, d * f->capacity, &f->score, f->capacity, &f->sums_x.value));
  PetscCall(PetscMalloc3(d * f->capacity, &f->sums_x.moment, f->capacity, &f->sums_y.value, d * f->capacity, &f->sums_y.moment));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_create(MPI_Comm comm, const DSOptions *opts, DSTarget *target, PetscInt local_count, DSField *field)
{
  DSField f;

  PetscFunctionBeginUser;
  PetscCall(ds_log_register());
  PetscCall(PetscNew(&f));
  f->comm         = comm;
  f->type         = opts->field;
  f->weight       = opts->field == DS_FIELD_CONSERVATIVE ? DS_WEIGHT_GRADIENT : DS_WEIGHT_VALUE;
  f->exclude_self = opts->self == DS_SELF_EXCLUDE ? PETSC_TRUE : PETSC_FALSE;
  f->target       = target;
  f->dim          = opts->dim;
  f->local_count  = local_count;
  ds_kernel_setup(opts->kernel, opts->bandwidth, opts->imq_beta, &f->kernel);
  PetscCall(ds_ring_create(comm, f->dim, local_count, 0, &f->particle_ring));
  PetscCall(PetscMalloc1(f->dim * PetscMax(local_count, 1), &f->particles));
  if (!target->analytic) {
    /* Replicated samples are all local: a ring over one rank visits them without messages. */
    PetscCall(ds_ring_create(target->replicated ? PETSC_COMM_SELF : comm, f->dim, target->samples_local, 0, &f->data_ring));
    PetscCall(PetscMalloc1(f->dim * PetscMax(target->samples_local, 1), &f->data));
    rows_to_soa(target->samples_local, f->dim, target->samples, f->data);
  }
  PetscCall(ensure_capacity(f, local_count));
  *field = f;
  PetscFunctionReturn(0);
}

/* t_S = moment / value per query point, 0 where the kernel sum underflowed; result [d][n]. */
static void relative_moment(PetscInt n, PetscInt dim, const DSKernelSums *s, PetscReal *t)
{
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal inv = s->value[i] > 0 ? 1.0 / s->value[i] : 0.0;
    for (PetscInt c = 0; c < dim; c++) t[c * n + i] = s->moment[c * s->ld + i] * inv;
  }
}

/* The field at `nq` query points whose first has global index `query_start` (the
   particles' indices when the queries are the particles, so the self pair is known). */
static PetscErrorCode evaluate(DSField f, PetscReal h, Vec X, PetscInt nq, PetscInt query_start, const PetscReal *zrows, PetscBool queries_are_particles, PetscReal *vrows)
{
  const PetscInt   dim  = f->dim;
  const PetscReal  sign = f->type == DS_FIELD_CONSERVATIVE ? 1.0 : -1.0;
  const PetscReal *xrows;
  PetscInt         particle_start;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(ds_events.field, 0, 0, 0, 0));
  ds_kernel_setup(f->kernel.type, h, f->kernel.beta, &f->kernel);
  PetscCall(ensure_capacity(f, nq));
  PetscCall(VecGetArrayRead(X, &xrows));
  rows_to_soa(f->local_count, dim, xrows, f->particles);
  PetscCall(VecRestoreArrayRead(X, &xrows));
  rows_to_soa(nq, dim, zrows, f->query);
  PetscCall(ds_ring_get_layout(f->particle_ring, &particle_start, NULL));

  DSBlock query     = {nq, dim, nq, query_start, f->query};
  DSBlock particles = {f->local_count, dim, f->local_count, particle_start, f->particles};
  Visit   visit     = {f, &query, &f->sums_x, queries_are_particles && f->exclude_self};

  f->sums_x.ld = f->sums_y.ld = nq;
  PetscCall(PetscArrayzero(f->sums_x.value, nq));
  PetscCall(PetscArrayzero(f->sums_x.moment, dim * nq));
  PetscCall(ds_ring_pass(f->particle_ring, &particles, visit_block, &visit, NULL));
  relative_moment(nq, dim, &f->sums_x, f->t_x);

  if (f->target->analytic) {
    /* t_Y from the exact smoothed score: grad log nu_h, or z - m_Y = -h^2 grad log nu_h. */
    const PetscReal scale = f->type == DS_FIELD_CONSERVATIVE ? 1.0 : -h * h;
    PetscCall(ds_target_smoothed_score(f->target, h, nq, zrows, f->score));
    for (PetscInt i = 0; i < nq; i++)
      for (PetscInt c = 0; c < dim; c++) f->t_y[c * nq + i] = scale * f->score[i * dim + c];
  } else {
    PetscInt data_start;
    PetscCall(ds_ring_get_layout(f->data_ring, &data_start, NULL));
    DSBlock data = {f->target->samples_local, dim, f->target->samples_local, data_start, f->data};
    visit.sums         = &f->sums_y;
    visit.exclude_self = PETSC_FALSE;
    PetscCall(PetscArrayzero(f->sums_y.value, nq));
    PetscCall(PetscArrayzero(f->sums_y.moment, dim * nq));
    PetscCall(ds_ring_pass(f->data_ring, &data, visit_block, &visit, NULL));
    relative_moment(nq, dim, &f->sums_y, f->t_y);
  }

  for (PetscInt i = 0; i < nq; i++)
    for (PetscInt c = 0; c < dim; c++) vrows[i * dim + c] = sign * (f->t_y[c * nq + i] - f->t_x[c * nq + i]);
  PetscCall(PetscLogEventEnd(ds_events.field, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_evaluate(DSField f, PetscReal h, Vec X, Vec V)
{
  const PetscReal *x;
  PetscReal       *v;
  PetscInt         start;

  PetscFunctionBeginUser;
  PetscCall(ds_ring_get_layout(f->particle_ring, &start, NULL));
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArray(V, &v));
  PetscCall(evaluate(f, h, X, f->local_count, start, x, PETSC_TRUE, v));
  PetscCall(VecRestoreArray(V, &v));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_evaluate_at(DSField f, PetscReal h, Vec X, Vec Z, Vec V)
{
  const PetscReal *z;
  PetscReal       *v;
  PetscInt         nz;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(Z, &nz));
  PetscCall(VecGetArrayRead(Z, &z));
  PetscCall(VecGetArray(V, &v));
  PetscCall(evaluate(f, h, X, nz / f->dim, -1, z, PETSC_FALSE, v));
  PetscCall(VecRestoreArray(V, &v));
  PetscCall(VecRestoreArrayRead(Z, &z));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_get_pair_count(DSField f, PetscLogDouble *pairs)
{
  PetscFunctionBeginUser;
  *pairs = f->pairs;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_destroy(DSField *field)
{
  DSField f = *field;

  PetscFunctionBeginUser;
  if (!f) PetscFunctionReturn(0);
  PetscCall(ds_ring_destroy(&f->particle_ring));
  PetscCall(ds_ring_destroy(&f->data_ring));
  PetscCall(PetscFree(f->particles));
  PetscCall(PetscFree(f->data));
  PetscCall(PetscFree5(f->query, f->t_x, f->t_y, f->score, f->sums_x.value));
  PetscCall(PetscFree3(f->sums_x.moment, f->sums_y.value, f->sums_y.moment));
  PetscCall(PetscFree(f));
  *field = NULL;
  PetscFunctionReturn(0);
}

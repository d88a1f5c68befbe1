/* The row-normalised fields' relative moments (row_normalised.h). */
#include "row_normalised.h"

static PetscErrorCode ensure_capacity(DSField f, DSRowNormalised *r, PetscInt n)
{
  const PetscInt d = f->dim;

  PetscFunctionBeginUser;
  if (n <= r->capacity && r->query) PetscFunctionReturn(0);
  PetscCall(PetscFree5(r->query, r->t_x, r->t_y, r->score, r->sums_x.value));
  PetscCall(PetscFree5(r->sums_x.moment, r->sums_x.companion, r->sums_y.value, r->sums_y.moment, r->sums_y.companion));
  r->capacity = PetscMax(n, 1);
  PetscCall(PetscMalloc5(d * r->capacity, &r->query, d * r->capacity, &r->t_x, d * r->capacity, &r->t_y, d * r->capacity, &r->score, r->capacity, &r->sums_x.value));
  PetscCall(PetscMalloc5(d * r->capacity, &r->sums_x.moment, r->capacity, &r->sums_x.companion, r->capacity, &r->sums_y.value, d * r->capacity, &r->sums_y.moment, r->capacity, &r->sums_y.companion));
  PetscCall(PetscFree2(r->bound_x, r->bound_y));
  PetscCall(PetscCalloc2(2 * r->capacity, &r->bound_x, 2 * r->capacity, &r->bound_y));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_row_normalised_create(DSField f, DSWeight weight, PetscReal sign, size_t size)
{
  DSRowNormalised *r;

  PetscFunctionBeginUser;
  PetscCall(PetscCalloc(PetscMax(size, sizeof(*r)), &r));
  f->data   = r;
  r->weight = weight;
  r->sign   = sign;
  PetscCall(ds_field_sources_create(f, f->opts->sum, f->opts->sum_tol, ds_field_sources_symmetric_pairs(f, weight), &r->sources));
  PetscCall(ensure_capacity(f, r, f->local_count));
  PetscCall(ds_field_declare_diagnostic(f, "underflowed_particles", &r->underflow_slot));
  r->bound_slot = r->fallback_slot = r->method_slot = -1;
  if (f->opts->sum != DS_SUM_EXACT) {
    PetscCall(ds_field_declare_diagnostic(f, "sum_error_bound", &r->bound_slot));
    PetscCall(ds_field_declare_diagnostic(f, "sum_fallbacks", &r->fallback_slot));
    PetscCall(ds_field_declare_diagnostic(f, "sum_method", &r->method_slot));
  }
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

PetscErrorCode ds_row_normalised_moments(DSField f, DSRowNormalised *r, PetscReal h, PetscInt nq, PetscInt query_start, const PetscReal *z, PetscBool companion)
{
  const PetscInt dim = f->dim;

  PetscFunctionBeginUser;
  ds_kernel_setup(f->kernel.type, h, f->kernel.beta, &f->kernel);
  PetscCall(ensure_capacity(f, r, nq));
  ds_rows_to_soa(nq, dim, z, r->query);

  DSBlock      query  = {nq, dim, nq, query_start, r->query, NULL};
  DSKernelSums sums_x = {.ld = nq, .value = r->sums_x.value, .moment = r->sums_x.moment, .companion = companion ? r->sums_x.companion : NULL};
  DSKernelSums sums_y = {.ld = nq, .value = r->sums_y.value, .moment = r->sums_y.moment, .companion = companion ? r->sums_y.companion : NULL};

  PetscCall(ds_field_sources_sum(f, r->sources, r->weight, &query, DS_SOURCES_PARTICLES, query_start >= 0 && f->exclude_self, NULL, &sums_x, r->bound_x));
  r->fallbacks = r->sources->fallbacks;
  r->method    = r->sources->last;
  relative_moment(nq, dim, &sums_x, r->t_x);
  if (f->target->analytic) {
    /* t_Y from the exact smoothed score: grad log nu_h, or z - m_Y = -h^2 grad log nu_h. */
    const PetscReal scale = r->weight == DS_WEIGHT_GRADIENT ? 1.0 : -h * h;
    PetscCall(ds_target_smoothed_score(f->target, h, nq, z, r->score));
    for (PetscInt i = 0; i < nq; i++)
      for (PetscInt c = 0; c < dim; c++) r->t_y[c * nq + i] = scale * r->score[i * dim + c];
    PetscCall(PetscArrayzero(r->bound_y, 2 * nq));
  } else {
    PetscCall(ds_field_sources_sum(f, r->sources, r->weight, &query, DS_SOURCES_DATA, PETSC_FALSE, NULL, &sums_y, r->bound_y));
    r->fallbacks += r->sources->fallbacks;
    relative_moment(nq, dim, &sums_y, r->t_y);
  }
  PetscFunctionReturn(0);
}

/* The bound on |t_S - t_S exact| of query i (of nq) from its sums' bounds (row_normalised.h). */
static PetscReal relative_moment_bound(PetscInt nq, PetscInt dim, const DSKernelSums *s, const PetscReal *t, const PetscReal *bound, PetscInt i)
{
  PetscReal t2 = 0;

  if (!bound[i] && !bound[nq + i]) return 0;
  if (!(s->value[i] > bound[i])) return INFINITY;
  for (PetscInt c = 0; c < dim; c++) t2 += t[c * nq + i] * t[c * nq + i];
  return (PetscSqrtReal((PetscReal)dim) * bound[nq + i] + PetscSqrtReal(t2) * bound[i]) / (s->value[i] - bound[i]);
}

PetscErrorCode ds_row_normalised_diagnostics(DSField f, const DSRowNormalised *r, PetscReal h)
{
  const PetscInt n = f->local_count;
  PetscInt       local = 0;

  PetscFunctionBeginUser;
  if (!f->want_diagnostics) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < n && !f->target->analytic; i++) {
    PetscBool zero = r->sums_y.value[i] == 0 ? PETSC_TRUE : PETSC_FALSE;
    for (PetscInt c = 0; c < f->dim; c++) zero = zero && r->sums_x.moment[c * r->sums_x.ld + i] == 0 ? PETSC_TRUE : PETSC_FALSE;
    local += zero;
  }
  PetscCall(ds_field_count_underflow(f, r->underflow_slot, h, local));
  if (r->bound_slot < 0) PetscFunctionReturn(0);
  PetscReal worst = 0;
  for (PetscInt i = 0; i < n; i++) worst = PetscMax(worst, relative_moment_bound(n, f->dim, &r->sums_x, r->t_x, r->bound_x, i) + relative_moment_bound(n, f->dim, &r->sums_y, r->t_y, r->bound_y, i));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPIU_REAL, MPI_MAX, f->comm));
  f->diagnostic_values[r->bound_slot]    = worst;
  f->diagnostic_values[r->fallback_slot] = (PetscReal)r->fallbacks;
  f->diagnostic_values[r->method_slot]   = (PetscReal)r->method;
  PetscFunctionReturn(0);
}

void ds_row_normalised_combine(DSField f, const DSRowNormalised *r, PetscInt nq, PetscReal *v)
{
  for (PetscInt i = 0; i < nq; i++)
    for (PetscInt c = 0; c < f->dim; c++) v[i * f->dim + c] = r->sign * (r->t_y[c * nq + i] - r->t_x[c * nq + i]);
}

PetscErrorCode ds_row_normalised_evaluate(DSField f, PetscReal h, const PetscReal *x, PetscReal *v)
{
  DSRowNormalised *r = (DSRowNormalised *)f->data;

  PetscFunctionBeginUser;
  ds_field_sources_load(f, r->sources, x);
  PetscCall(ds_row_normalised_moments(f, r, h, f->local_count, f->particle_start, x, PETSC_FALSE));
  PetscCall(ds_row_normalised_diagnostics(f, r, h));
  ds_row_normalised_combine(f, r, f->local_count, v);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_row_normalised_evaluate_at(DSField f, PetscReal h, const PetscReal *x, PetscInt nz, const PetscReal *z, PetscReal *v)
{
  DSRowNormalised *r = (DSRowNormalised *)f->data;

  PetscFunctionBeginUser;
  ds_field_sources_load(f, r->sources, x);
  PetscCall(ds_row_normalised_moments(f, r, h, nz, -1, z, PETSC_FALSE));
  ds_row_normalised_combine(f, r, nz, v);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_row_normalised_destroy(DSField f)
{
  DSRowNormalised *r = (DSRowNormalised *)f->data;

  PetscFunctionBeginUser;
  PetscCall(ds_field_sources_destroy(&r->sources));
  PetscCall(PetscFree5(r->query, r->t_x, r->t_y, r->score, r->sums_x.value));
  PetscCall(PetscFree5(r->sums_x.moment, r->sums_x.companion, r->sums_y.value, r->sums_y.moment, r->sums_y.companion));
  PetscCall(PetscFree2(r->bound_x, r->bound_y));
  PetscCall(PetscFree(f->data));
  PetscFunctionReturn(0);
}

/* Row-normalised fields (SCIENCE.md items 1 and 2), the companion decomposition, and the
   field module's creation, dispatch and diagnostics.

   Both row-normalised fields come from one quantity per source set S, the relative moment
     t_S(z) = sum_s f(z, s) (z - s) / sum_s k(z, s)
   with f = g, the kernel's gradient factor, for the conservative field (t_S = grad log of
   the KDE of S) and f = k for the displacement field (t_S = z - m_S(z)). Then
     conservative   b(z) = t_Y(z) - t_X(z)     (grad log nu_h - grad log mu_h)
     displacement   V(z) = t_X(z) - t_Y(z)     (m_Y - m_X)
   With an analytic target, t_Y is grad log nu_h (conservative) or -h^2 grad log nu_h
   (displacement, since m_Y = z + h^2 grad log nu_h for the gaussian kernel).
   A kernel sum that underflowed to 0 gives t_S = 0: that set exerts no drift. */
#include <stdio.h>
#include "field_impl.h"

PetscErrorCode ds_field_visit_sums(void *ctx, const DSBlock *visiting, PetscReal *travelling)
{
  DSFieldVisit *v      = (DSFieldVisit *)ctx;
  DSBlock       source = *visiting;

  PetscFunctionBeginUser;
  source.weight = travelling; /* per-column weights of the joint field, NULL otherwise */
  if (v->field->cutoff_tol > 0 && ds_kernel_cells_apply(&v->field->kernel, v->field->weight, &source, v->sums)) {
    /* Sorted into cells on arrival; pairs further than the cutoff radius are skipped (still counted). */
    PetscCall(ds_cells_build(&source, ds_kernel_cutoff_radius(&v->field->kernel, v->field->cutoff_tol), &v->field->cells));
    ds_kernel_sums_cells(&v->field->kernel, v->field->weight, v->query, &v->field->cells, v->exclude_self, v->sums);
  } else ds_kernel_sums(&v->field->kernel, v->field->weight, v->query, &source, v->exclude_self, v->sums);
  v->field->pairs += (PetscLogDouble)v->query->n * visiting->n;
  /* Distance (3 per coordinate), moment (3 per coordinate), value sum and kernel (2). */
  PetscCall(PetscLogFlops((6.0 * v->query->dim + 2.0) * v->query->n * visiting->n));
  PetscFunctionReturn(0);
}

static PetscErrorCode ensure_capacity(DSField f, PetscInt n)
{
  const PetscInt d = f->dim;

  PetscFunctionBeginUser;
  if (n <= f->capacity && f->query) PetscFunctionReturn(0);
  PetscCall(PetscFree5(f->query, f->t_x, f->t_y, f->score, f->sums_x.value));
  PetscCall(PetscFree5(f->sums_x.moment, f->sums_x.companion, f->sums_y.value, f->sums_y.moment, f->sums_y.companion));
  f->capacity = PetscMax(n, 1);
  PetscCall(PetscMalloc5(d * f->capacity, &f->query, d * f->capacity, &f->t_x, d * f->capacity, &f->t_y, d * f->capacity, &f->score, f->capacity, &f->sums_x.value));
  PetscCall(PetscMalloc5(d * f->capacity, &f->sums_x.moment, f->capacity, &f->sums_x.companion, f->capacity, &f->sums_y.value, d * f->capacity, &f->sums_y.moment, f->capacity, &f->sums_y.companion));
  PetscFunctionReturn(0);
}

/* Names of the field's own diagnostics, fixed at creation (ds_field.h). */
static PetscErrorCode name_diagnostics(DSField f)
{
  static const char *const companion[] = {"companion_sharp_rms", "companion_residual_rms", "rho_particles_min", "rho_particles_max", "rho_data_min", "rho_data_max"};

  PetscFunctionBeginUser;
  if (f->type == DS_FIELD_DISPLACEMENT && f->kernel.type == DS_KERNEL_LAPLACE && !f->target->analytic)
    for (size_t k = 0; k < sizeof(companion) / sizeof(companion[0]); k++) PetscCall(PetscStrallocpy(companion[k], &f->diagnostic_names[f->ndiagnostics++]));
  if (f->type == DS_FIELD_MULTITEMPERATURE) {
    PetscCall(PetscStrallocpy("distance_scale", &f->diagnostic_names[f->ndiagnostics++]));
    for (PetscInt k = 0; k < f->ntemperatures; k++) {
      char name[64];
      snprintf(name, sizeof(name), "rms_tau_%g", (double)f->temperatures[k]);
      PetscCall(PetscStrallocpy(name, &f->diagnostic_names[f->ndiagnostics++]));
    }
  }
  for (PetscInt k = 0; k < f->ndiagnostics; k++) f->diagnostic_values[k] = NAN;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_create(MPI_Comm comm, const DSOptions *opts, DSTarget *target, PetscInt local_count, DSField *field)
{
  DSField f;

  PetscFunctionBeginUser;
  PetscCall(ds_log_register());
  PetscCall(PetscNew(&f));
  f->comm          = comm;
  f->type          = opts->field;
  f->weight        = opts->field == DS_FIELD_CONSERVATIVE ? DS_WEIGHT_GRADIENT : DS_WEIGHT_VALUE;
  f->target        = target;
  f->dim           = opts->dim;
  f->local_count   = local_count;
  f->ntemperatures = opts->ntemperatures;
  f->cutoff_tol    = opts->cutoff_tol;
  PetscCall(PetscArraycpy(f->temperatures, opts->temperatures, DS_MAX_TEMPERATURES));
  /* The joint fields exclude the self pair by definition (K_ii = 0). */
  f->exclude_self = (opts->self == DS_SELF_EXCLUDE || opts->field == DS_FIELD_JOINT || opts->field == DS_FIELD_MULTITEMPERATURE) ? PETSC_TRUE : PETSC_FALSE;
  ds_kernel_setup(opts->kernel, opts->bandwidth, opts->imq_beta, &f->kernel);
  PetscCall(ds_ring_create(comm, f->dim, local_count, 1, &f->particle_ring));
  PetscCall(ds_ring_get_layout(f->particle_ring, &f->particle_start, &f->global_count));
  PetscCall(PetscMalloc1(f->dim * PetscMax(local_count, 1), &f->particles));
  if (!target->analytic) {
    /* Replicated samples are all local: a ring over one rank visits them without messages. */
    PetscCall(ds_ring_create(target->replicated ? PETSC_COMM_SELF : comm, f->dim, target->samples_local, 1, &f->data_ring));
    PetscCall(ds_ring_get_layout(f->data_ring, &f->data_start, NULL));
    PetscCall(PetscMalloc1(f->dim * PetscMax(target->samples_local, 1), &f->data));
    ds_rows_to_soa(target->samples_local, f->dim, target->samples, f->data);
  }
  if (f->type == DS_FIELD_JOINT || f->type == DS_FIELD_MULTITEMPERATURE) {
    PetscCheck(!target->analytic, comm, PETSC_ERR_USER_INPUT, "-drift_field %s needs target samples: its columns are the particles and the samples (give -drift_target_samples M >= 1)", DSFieldTypes[f->type]);
    PetscCall(PetscMalloc4(PetscMax(local_count, 1), &f->row_sums, PetscMax(local_count, 1), &f->particle_columns, PetscMax(target->samples_local, 1), &f->data_columns, f->dim * PetscMax(local_count, 1), &f->field_at_temperature));
  }
  PetscCall(ensure_capacity(f, local_count));
  PetscCall(name_diagnostics(f));
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

PetscErrorCode ds_field_load_particles(DSField f, Vec X)
{
  const PetscReal *x;

  PetscFunctionBeginUser;
  PetscCall(VecGetArrayRead(X, &x));
  ds_rows_to_soa(f->local_count, f->dim, x, f->particles);
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

/* Kernel sums of `nq` query points (first global index query_start) against every particle
   and every sample (ring passes), t_X and t_Y, and for the companion the sums of l. */
static PetscErrorCode row_sums(DSField f, PetscReal h, PetscInt nq, PetscInt query_start, const PetscReal *zrows, PetscBool queries_are_particles, PetscBool companion)
{
  const PetscInt dim = f->dim;

  PetscFunctionBeginUser;
  ds_kernel_setup(f->kernel.type, h, f->kernel.beta, &f->kernel);
  PetscCall(ensure_capacity(f, nq));
  ds_rows_to_soa(nq, dim, zrows, f->query);

  DSBlock      query     = {nq, dim, nq, query_start, f->query, NULL};
  DSBlock      particles = {f->local_count, dim, f->local_count, f->particle_start, f->particles, NULL};
  DSKernelSums sums_x    = {nq, f->sums_x.value, f->sums_x.moment, companion ? f->sums_x.companion : NULL};
  DSKernelSums sums_y    = {nq, f->sums_y.value, f->sums_y.moment, companion ? f->sums_y.companion : NULL};
  DSFieldVisit visit     = {f, &query, &sums_x, queries_are_particles && f->exclude_self};

  PetscCall(PetscArrayzero(f->sums_x.value, nq));
  PetscCall(PetscArrayzero(f->sums_x.moment, dim * nq));
  PetscCall(PetscArrayzero(f->sums_x.companion, nq));
  PetscCall(ds_ring_pass(f->particle_ring, &particles, ds_field_visit_sums, &visit, 0, NULL));
  relative_moment(nq, dim, &sums_x, f->t_x);

  if (f->target->analytic) {
    /* t_Y from the exact smoothed score: grad log nu_h, or z - m_Y = -h^2 grad log nu_h. */
    const PetscReal scale = f->type == DS_FIELD_CONSERVATIVE ? 1.0 : -h * h;
    PetscCall(ds_target_smoothed_score(f->target, h, nq, zrows, f->score));
    for (PetscInt i = 0; i < nq; i++)
      for (PetscInt c = 0; c < dim; c++) f->t_y[c * nq + i] = scale * f->score[i * dim + c];
  } else {
    DSBlock data = {f->target->samples_local, dim, f->target->samples_local, f->data_start, f->data, NULL};
    visit.sums         = &sums_y;
    visit.exclude_self = PETSC_FALSE;
    PetscCall(PetscArrayzero(f->sums_y.value, nq));
    PetscCall(PetscArrayzero(f->sums_y.moment, dim * nq));
    PetscCall(PetscArrayzero(f->sums_y.companion, nq));
    PetscCall(ds_ring_pass(f->data_ring, &data, ds_field_visit_sums, &visit, 0, NULL));
    relative_moment(nq, dim, &sums_y, f->t_y);
  }
  PetscFunctionReturn(0);
}

/* V from t_X and t_Y at nq points (rows [nq][d]). */
static void combine_rows(DSField f, PetscInt nq, PetscReal *vrows)
{
  const PetscReal sign = f->type == DS_FIELD_CONSERVATIVE ? 1.0 : -1.0;
  for (PetscInt i = 0; i < nq; i++)
    for (PetscInt c = 0; c < f->dim; c++) vrows[i * f->dim + c] = sign * (f->t_y[c * nq + i] - f->t_x[c * nq + i]);
}

/* rho_S = sum l / sum k at particle i, or NaN where the kernel sum underflowed. */
static PetscReal rho(const DSKernelSums *s, PetscInt i)
{
  return s->value[i] > 0 ? s->companion[i] / s->value[i] : NAN;
}

/* The companion decomposition at the particles from the sums of row_sums (t_S = z - m_S):
   sharp = t_X - (rho_X / rho_Y) t_Y and residual = (rho_X / rho_Y - 1) t_Y, which are
   SCIENCE.md's h rho_X [grad log(l*Y) - grad log(l*X)] and h (rho_Y - rho_X) grad log(l*Y)
   since grad log(l*S) = -t_S / (h rho_S). Where a kernel sum underflowed (t_S = 0 there),
   the ratio is taken as 0. Also the companion diagnostics. */
static PetscErrorCode companion_terms(DSField f, PetscReal *sharp, PetscReal *residual)
{
  const PetscInt n = f->local_count, d = f->dim;
  PetscReal      local[6] = {0, 0, PETSC_MAX_REAL, -PETSC_MAX_REAL, PETSC_MAX_REAL, -PETSC_MAX_REAL}, global[6];

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal rx = rho(&f->sums_x, i), ry = rho(&f->sums_y, i);
    const PetscReal ratio = (rx == rx && ry == ry) ? rx / ry : 0.0;
    for (PetscInt c = 0; c < d; c++) {
      const PetscReal tx = f->t_x[c * n + i], ty = f->t_y[c * n + i];
      sharp[i * d + c]    = tx - ratio * ty;
      residual[i * d + c] = (ratio - 1.0) * ty;
      local[0] += PetscSqr(sharp[i * d + c]);
      local[1] += PetscSqr(residual[i * d + c]);
    }
    if (rx == rx) local[2] = PetscMin(local[2], rx), local[3] = PetscMax(local[3], rx);
    if (ry == ry) local[4] = PetscMin(local[4], ry), local[5] = PetscMax(local[5], ry);
  }
  local[3] = -local[3];
  local[5] = -local[5];
  PetscCallMPI(MPI_Allreduce(local, global, 2, MPIU_REAL, MPI_SUM, f->comm));
  PetscCallMPI(MPI_Allreduce(local + 2, global + 2, 4, MPIU_REAL, MPI_MIN, f->comm));
  f->diagnostic_values[0] = PetscSqrtReal(global[0] / f->global_count);
  f->diagnostic_values[1] = PetscSqrtReal(global[1] / f->global_count);
  for (int k = 2; k < 6; k++) {
    const PetscReal value = k % 2 ? -global[k] : global[k];
    f->diagnostic_values[k] = PetscAbsReal(value) < PETSC_MAX_REAL ? value : NAN;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_evaluate(DSField f, PetscReal h, Vec X, Vec V)
{
  const PetscReal *x;
  PetscReal       *v;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(ds_events.field, 0, 0, 0, 0));
  PetscCall(ds_field_load_particles(f, X));
  PetscCall(VecGetArray(V, &v));
  switch (f->type) {
  case DS_FIELD_CONSERVATIVE:
  case DS_FIELD_DISPLACEMENT: {
    const PetscBool companion = f->want_diagnostics && f->ndiagnostics > 0;
    PetscCall(VecGetArrayRead(X, &x));
    PetscCall(row_sums(f, h, f->local_count, f->particle_start, x, PETSC_TRUE, companion));
    PetscCall(VecRestoreArrayRead(X, &x));
    combine_rows(f, f->local_count, v);
    if (companion) {
      PetscReal *terms;
      PetscCall(PetscMalloc1(2 * f->dim * PetscMax(f->local_count, 1), &terms));
      PetscCall(companion_terms(f, terms, terms + f->dim * f->local_count));
      PetscCall(PetscFree(terms));
    }
  } break;
  case DS_FIELD_JOINT: PetscCall(ds_field_joint(f, h, v)); break;
  case DS_FIELD_MULTITEMPERATURE: PetscCall(ds_field_multitemperature(f, v)); break;
  }
  PetscCall(VecRestoreArray(V, &v));
  PetscCall(PetscLogEventEnd(ds_events.field, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_evaluate_companion(DSField f, PetscReal h, Vec X, Vec V, Vec sharp, Vec residual)
{
  const PetscReal *x;
  PetscReal       *v, *s, *r;

  PetscFunctionBeginUser;
  PetscCheck(f->type == DS_FIELD_DISPLACEMENT && f->kernel.type == DS_KERNEL_LAPLACE && !f->target->analytic, f->comm, PETSC_ERR_SUP, "the companion decomposition is defined for the laplace displacement field with target samples");
  PetscCall(ds_field_load_particles(f, X));
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(row_sums(f, h, f->local_count, f->particle_start, x, PETSC_TRUE, PETSC_TRUE));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(VecGetArray(V, &v));
  PetscCall(VecGetArray(sharp, &s));
  PetscCall(VecGetArray(residual, &r));
  combine_rows(f, f->local_count, v);
  PetscCall(companion_terms(f, s, r));
  PetscCall(VecRestoreArray(residual, &r));
  PetscCall(VecRestoreArray(sharp, &s));
  PetscCall(VecRestoreArray(V, &v));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_evaluate_at(DSField f, PetscReal h, Vec X, Vec Z, Vec V)
{
  const PetscReal *z;
  PetscReal       *v;
  PetscInt         nz;

  PetscFunctionBeginUser;
  PetscCheck(f->type == DS_FIELD_CONSERVATIVE || f->type == DS_FIELD_DISPLACEMENT, f->comm, PETSC_ERR_SUP, "-drift_field %s is defined at the particles only (its columns are normalised over all particles)", DSFieldTypes[f->type]);
  PetscCall(PetscLogEventBegin(ds_events.field, 0, 0, 0, 0));
  PetscCall(ds_field_load_particles(f, X));
  PetscCall(VecGetLocalSize(Z, &nz));
  PetscCall(VecGetArrayRead(Z, &z));
  PetscCall(VecGetArray(V, &v));
  PetscCall(row_sums(f, h, nz / f->dim, -1, z, PETSC_FALSE, PETSC_FALSE));
  combine_rows(f, nz / f->dim, v);
  PetscCall(VecRestoreArray(V, &v));
  PetscCall(VecRestoreArrayRead(Z, &z));
  PetscCall(PetscLogEventEnd(ds_events.field, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_rms(DSField f, const PetscReal *v, PetscReal *rms)
{
  PetscReal local = 0, global;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < f->local_count * f->dim; i++) local += v[i] * v[i];
  PetscCallMPI(MPI_Allreduce(&local, &global, 1, MPIU_REAL, MPI_SUM, f->comm));
  *rms = PetscSqrtReal(global / ((PetscReal)f->global_count * f->dim));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_set_diagnostics(DSField f, PetscBool on)
{
  PetscFunctionBeginUser;
  f->want_diagnostics = on;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_get_diagnostics(DSField f, PetscInt *count, const char *const **names, const PetscReal **values)
{
  PetscFunctionBeginUser;
  *count = f->ndiagnostics;
  if (names) *names = (const char *const *)f->diagnostic_names;
  if (values) *values = f->diagnostic_values;
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
  PetscCall(ds_cells_destroy(&f->cells));
  PetscCall(PetscFree(f->particles));
  PetscCall(PetscFree(f->data));
  PetscCall(PetscFree5(f->query, f->t_x, f->t_y, f->score, f->sums_x.value));
  PetscCall(PetscFree5(f->sums_x.moment, f->sums_x.companion, f->sums_y.value, f->sums_y.moment, f->sums_y.companion));
  PetscCall(PetscFree4(f->row_sums, f->particle_columns, f->data_columns, f->field_at_temperature));
  for (PetscInt k = 0; k < f->ndiagnostics; k++) PetscCall(PetscFree(f->diagnostic_names[k]));
  PetscCall(PetscFree(f));
  *field = NULL;
  PetscFunctionReturn(0);
}

/* The displacement (mean-shift) field, SCIENCE.md item 2 (Deng et al. 2026, eq. 8-12):
     V(z) = m_Y(z) - m_X(z) = t_X(z) - t_Y(z)
   a row-normalised field (row_normalised.h) with the kernel value as weight. With the
   laplace kernel and target samples it also has the companion decomposition of
   SCIENCE.md, with l(r) = (h + r) exp(-r/h) and rho_S = sum l / sum k:
     V = h rho_X [grad log(l*Y) - grad log(l*X)]  +  h (rho_Y - rho_X) grad log(l*Y)
   (sharp score mismatch + scale-mismatch residual), reported as the field's own
   diagnostics and by ds_field_evaluate_companion. */
#include "row_normalised.h"

PETSC_INTERN const DSFieldTypeInfo ds_field_displacement;

static const char *const companion_names[] = {"companion_sharp_rms", "companion_residual_rms", "rho_particles_min", "rho_particles_max", "rho_data_min", "rho_data_max"};
#define NCOMPANION (PetscInt)(sizeof(companion_names) / sizeof(companion_names[0]))

typedef struct {
  DSRowNormalised row;             /* first: the shared row-normalised ops see it */
  PetscBool       has_companion;   /* laplace kernel and target samples */
  PetscInt        slot[NCOMPANION]; /* the companion diagnostics' slots */
} Displacement;

/* rho_S = sum l / sum k at particle i, or NaN where the kernel sum underflowed. */
static PetscReal rho(const DSKernelSums *s, PetscInt i)
{
  return s->value[i] > 0 ? s->companion[i] / s->value[i] : NAN;
}

/* The companion decomposition at the particles from the sums of ds_row_normalised_moments
   (t_S = z - m_S): sharp = t_X - (rho_X / rho_Y) t_Y and residual = (rho_X / rho_Y - 1) t_Y,
   which are SCIENCE.md's h rho_X [grad log(l*Y) - grad log(l*X)] and
   h (rho_Y - rho_X) grad log(l*Y) since grad log(l*S) = -t_S / (h rho_S). Where a kernel sum
   underflowed (t_S = 0 there), the ratio is taken as 0. Also the companion diagnostics. */
static PetscErrorCode companion_terms(DSField f, Displacement *p, PetscReal *sharp, PetscReal *residual)
{
  const DSRowNormalised *r = &p->row;
  const PetscInt         n = f->local_count, d = f->dim;
  PetscReal              local[NCOMPANION] = {0, 0, PETSC_MAX_REAL, -PETSC_MAX_REAL, PETSC_MAX_REAL, -PETSC_MAX_REAL}, global[NCOMPANION];

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal rx = rho(&r->sums_x, i), ry = rho(&r->sums_y, i);
    const PetscReal ratio = (rx == rx && ry == ry) ? rx / ry : 0.0;
    for (PetscInt c = 0; c < d; c++) {
      const PetscReal tx = r->t_x[c * n + i], ty = r->t_y[c * n + i];
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
  f->diagnostic_values[p->slot[0]] = PetscSqrtReal(global[0] / f->global_count);
  f->diagnostic_values[p->slot[1]] = PetscSqrtReal(global[1] / f->global_count);
  for (int k = 2; k < NCOMPANION; k++) {
    const PetscReal value = k % 2 ? -global[k] : global[k];
    f->diagnostic_values[p->slot[k]] = PetscAbsReal(value) < PETSC_MAX_REAL ? value : NAN;
  }
  PetscFunctionReturn(0);
}

/* V at the particles, and with the companion sums the terms of the decomposition (into
   sharp and residual, or a scratch array when both are NULL) and its diagnostics. */
static PetscErrorCode evaluate_with_companion(DSField f, PetscReal h, const PetscReal *x, PetscReal *v, PetscBool companion, PetscReal *sharp, PetscReal *residual)
{
  Displacement *p = (Displacement *)f->data;

  PetscFunctionBeginUser;
  ds_field_sources_load(f, p->row.sources, x);
  PetscCall(ds_row_normalised_moments(f, &p->row, h, f->local_count, f->particle_start, x, companion));
  PetscCall(ds_row_normalised_diagnostics(f, &p->row, h));
  ds_row_normalised_combine(f, &p->row, f->local_count, v);
  if (companion && sharp) PetscCall(companion_terms(f, p, sharp, residual));
  else if (companion) {
    PetscReal *terms;
    PetscCall(PetscMalloc1(2 * f->dim * PetscMax(f->local_count, 1), &terms));
    PetscCall(companion_terms(f, p, terms, terms + f->dim * f->local_count));
    PetscCall(PetscFree(terms));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode evaluate_displacement(DSField f, PetscReal h, const PetscReal *x, PetscReal *v)
{
  Displacement *p = (Displacement *)f->data;

  PetscFunctionBeginUser;
  PetscCall(evaluate_with_companion(f, h, x, v, f->want_diagnostics && p->has_companion, NULL, NULL));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_evaluate_companion(DSField f, PetscReal h, Vec X, Vec V, Vec sharp, Vec residual)
{
  const PetscReal *x;
  PetscReal       *v, *s, *r;

  PetscFunctionBeginUser;
  PetscCheck(f->type == &ds_field_displacement && ((Displacement *)f->data)->has_companion, f->comm, PETSC_ERR_SUP, "the companion decomposition is defined for the laplace displacement field with target samples");
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArray(V, &v));
  PetscCall(VecGetArray(sharp, &s));
  PetscCall(VecGetArray(residual, &r));
  PetscCall(evaluate_with_companion(f, h, x, v, PETSC_TRUE, s, r));
  PetscCall(VecRestoreArray(residual, &r));
  PetscCall(VecRestoreArray(sharp, &s));
  PetscCall(VecRestoreArray(V, &v));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

static PetscErrorCode create_displacement(DSField f)
{
  Displacement *p;

  PetscFunctionBeginUser;
  PetscCall(ds_row_normalised_create(f, DS_WEIGHT_VALUE, -1.0, sizeof(Displacement)));
  p                = (Displacement *)f->data;
  p->has_companion = f->kernel.type == DS_KERNEL_LAPLACE && !f->target->analytic;
  if (p->has_companion)
    for (PetscInt k = 0; k < NCOMPANION; k++) PetscCall(ds_field_declare_diagnostic(f, companion_names[k], &p->slot[k]));
  f->ops.evaluate    = evaluate_displacement;
  f->ops.evaluate_at = ds_row_normalised_evaluate_at;
  f->ops.destroy     = ds_row_normalised_destroy;
  PetscFunctionReturn(0);
}

/* The type as the registry and the options see it (ds_field.h). Every type file ends with
   its create function (filling the ops table) and this description, so those ends look
   alike across src/fields/ by design: they are the registry's interface, not shared logic. */
const DSFieldTypeInfo ds_field_displacement = {
  .name           = "displacement",
  .create         = create_displacement,
  .default_kernel = DS_KERNEL_LAPLACE,
  .takes_fast_sums = PETSC_TRUE,
  .uses_bandwidth = PETSC_TRUE,
  .guard_speed    = DS_GUARD_SPEED_DISPLACEMENT,
};

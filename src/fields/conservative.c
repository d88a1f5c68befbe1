/* The conservative (KDE-gradient) field, SCIENCE.md item 1:
     b(z) = grad log nu_h(z) - grad log mu_h(z) = t_Y(z) - t_X(z)
   a row-normalised field (row_normalised.h) with the kernel's gradient factor as weight.
   It needs a smooth kernel (gaussian, imq); the particle KDE includes the self term unless
   -drift_self exclude. Its own diagnostic, at every evaluation at the particles, is the
   theorem's self term (SCIENCE.md, joint-entropy identity)
     self_term = (a_h / N) R_t = |Lap k(0)| (1/N) sum_i 1 / n_i,  n_i = sum_j k(x_i, x_j),
   with n_i counting the self pair (k(0) = 1) whether or not the field excludes it. */
#include "row_normalised.h"

typedef struct {
  DSRowNormalised row;       /* first: the shared row-normalised ops see it */
  PetscInt        self_slot; /* the self_term diagnostic's slot */
} Conservative;

static PetscErrorCode evaluate_conservative(DSField f, PetscReal h, const PetscReal *x, PetscReal *v)
{
  Conservative   *p    = (Conservative *)f->data;
  const PetscReal self = f->exclude_self ? 1.0 : 0.0;
  PetscReal       local = 0, global;

  PetscFunctionBeginUser;
  PetscCall(ds_row_normalised_evaluate(f, h, x, v));
  for (PetscInt i = 0; i < f->local_count; i++) local += 1.0 / (p->row.sums_x.value[i] + self);
  PetscCallMPI(MPI_Allreduce(&local, &global, 1, MPIU_REAL, MPI_SUM, f->comm));
  f->diagnostic_values[p->self_slot] = PetscAbsReal(ds_kernel_laplacian_at_zero(&f->kernel, f->dim)) * global / f->global_count;
  PetscFunctionReturn(0);
}

static PetscErrorCode create_conservative(DSField f)
{
  PetscFunctionBeginUser;
  PetscCall(ds_row_normalised_create(f, DS_WEIGHT_GRADIENT, 1.0, sizeof(Conservative)));
  PetscCall(ds_field_declare_diagnostic(f, "self_term", &((Conservative *)f->data)->self_slot));
  f->ops.evaluate    = evaluate_conservative;
  f->ops.evaluate_at = ds_row_normalised_evaluate_at;
  f->ops.destroy     = ds_row_normalised_destroy;
  PetscFunctionReturn(0);
}

/* The type as the registry and the options see it (ds_field.h). Every type file ends with
   its create function (filling the ops table) and this description, so those ends look
   alike across src/fields/ by design: they are the registry's interface, not shared logic. */
const DSFieldTypeInfo ds_field_conservative = {
  .name           = "conservative",
  .create         = create_conservative,
  .default_kernel = DS_KERNEL_GAUSSIAN,
  .smooth_kernel  = PETSC_TRUE,
  .takes_fast_sums = PETSC_TRUE,
  .uses_bandwidth = PETSC_TRUE,
  .guard_speed    = DS_GUARD_SPEED_CONSERVATIVE,
};

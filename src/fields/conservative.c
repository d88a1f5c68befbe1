/* The conservative (KDE-gradient) field, SCIENCE.md item 1:
     b(z) = grad log nu_h(z) - grad log mu_h(z) = t_Y(z) - t_X(z)
   a row-normalised field (row_normalised.h) with the kernel's gradient factor as weight.
   It needs a smooth kernel (gaussian, imq); the particle KDE includes the self term unless
   -drift_self exclude. */
#include "row_normalised.h"

static PetscErrorCode create_conservative(DSField f)
{
  PetscFunctionBeginUser;
  PetscCall(ds_row_normalised_create(f, DS_WEIGHT_GRADIENT, 1.0, sizeof(DSRowNormalised)));
  f->ops.evaluate    = ds_row_normalised_evaluate;
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
  .takes_cutoff   = PETSC_TRUE,
  .uses_bandwidth = PETSC_TRUE,
};

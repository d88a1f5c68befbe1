/* The rules of -drift_sum and -drift_sum_tol (ds_options.h), apart from the reading of
   every option in options.c. */
#include "ds_options.h"

PetscBool ds_options_fast_sums_apply(const DSOptions *o) { return (o->sum != DS_SUM_EXACT && o->dim <= 3) ? PETSC_TRUE : PETSC_FALSE; }

PetscErrorCode ds_options_check_sums(MPI_Comm comm, const DSOptions *o)
{
  PetscFunctionBeginUser;
  if (o->sum == DS_SUM_EXACT) PetscFunctionReturn(0);
  PetscCheck(o->sum_tol > 0 && o->sum_tol < 1, comm, PETSC_ERR_USER_INPUT, "-drift_sum_tol must be in (0, 1): the error of each sum as a fraction of its source count (%g given)", (double)o->sum_tol);
  PetscCheck(o->kernel != DS_KERNEL_IMQ, comm, PETSC_ERR_USER_INPUT, "-drift_sum %s needs a kernel that decays fast (gaussian, laplace); -drift_kernel imq decays like a power of the distance", DSSumMethods[o->sum]);
  PetscCheck(o->sum != DS_SUM_FGT || o->kernel == DS_KERNEL_GAUSSIAN, comm, PETSC_ERR_USER_INPUT, "-drift_sum fgt is the fast Gauss transform: it needs -drift_kernel gaussian (-drift_kernel %s given)", DSKernelTypes[o->kernel]);
  PetscCheck(o->sum != DS_SUM_FGT || o->dim <= 3, comm, PETSC_ERR_USER_INPUT, "-drift_sum fgt serves dimensions 1 to 3 (-drift_dim %" PetscInt_FMT " given)", o->dim);
  PetscCheck(o->sum != DS_SUM_FGT || o->sum_tol >= 1e-14, comm, PETSC_ERR_USER_INPUT, "-drift_sum_tol %g is below what -drift_sum fgt reaches in double precision (1e-14)", (double)o->sum_tol);
  PetscFunctionReturn(0);
}

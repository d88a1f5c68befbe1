/* Velocity diagnostics, reduced over all ranks. */
#include "ds_diagnostics.h"
#include "ds_log.h"

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

/* Global diagnostics of the particle state (SCIENCE.md: diagnostics the theory speaks of). */
#ifndef DS_DIAGNOSTICS_H
#define DS_DIAGNOSTICS_H

#include <petscvec.h>

/* Root residual velocity sqrt(1/N sum_i |v_i|^2) and squared centre velocity
   |1/N sum_i v_i|^2 of a velocity Vec V (block size d, N = rows). Collective. */
PETSC_EXTERN PetscErrorCode ds_diagnostics_velocity(Vec V, PetscReal *rms_velocity, PetscReal *center_velocity_sq);

#endif

/* Anderson acceleration of a fixed-point iteration x <- G(x) on a vector distributed over a
   communicator (Walker & Ni's "type II" Anderson mixing, the scheme of PETSc's
   SNESANDERSON with mixing parameter 1): with the residuals F_j = G(x_j) - x_j of the last
   m + 1 iterates, the next iterate is
     x_(k+1) = G(x_k) - sum_j gamma_j (G(x_(j+1)) - G(x_j)),
     gamma = argmin | F_k - sum_j gamma_j (F_(j+1) - F_j) |_2,
   the small least-squares problem solved by its normal equations (one reduction of the
   m x m Gram matrix per iteration). The Sinkhorn solver (ds_sinkhorn.h) uses it on the
   potential each iteration carries. */
#ifndef DS_ANDERSON_H
#define DS_ANDERSON_H

#include <petscsys.h>

typedef struct DSAnderson_ *DSAnderson;

/* Creates the mixing of vectors of `local` entries on this rank, summed over comm (a
   one-rank communicator where every rank holds the whole vector), keeping `memory` >= 1
   differences. */
PETSC_EXTERN PetscErrorCode ds_anderson_create(MPI_Comm comm, PetscInt local, PetscInt memory, DSAnderson *anderson);

/* Forgets the history: the next ds_anderson_mix starts anew (a new problem, or a new eps). */
PETSC_EXTERN void ds_anderson_reset(DSAnderson anderson);

/* Records x, the iterate the map is about to be applied to (not collective); each
   ds_anderson_mix needs one. */
PETSC_EXTERN PetscErrorCode ds_anderson_record(DSAnderson anderson, const PetscReal x[]);

/* Given y = G(x) of the x last recorded, overwrites y with the mixed next iterate
   (collective). With fewer than two recorded pairs, or a Gram matrix that is not positive
   definite to rounding (collinear residuals), y is left as G(x) and the history restarts
   from this pair. */
PETSC_EXTERN PetscErrorCode ds_anderson_mix(DSAnderson anderson, PetscReal y[]);

/* The way back when a mixed iterate proved unusable (a non-finite update): when the last
   ds_anderson_mix changed its G(x), overwrites y with that unmixed G(x), keeps only its pair
   in the history and returns PETSC_TRUE; otherwise (nothing to go back to) leaves y and
   returns PETSC_FALSE. Drops the x recorded since (not collective). */
PETSC_EXTERN PetscBool ds_anderson_fall_back(DSAnderson anderson, PetscReal y[]);

PETSC_EXTERN PetscErrorCode ds_anderson_destroy(DSAnderson *anderson);

#endif

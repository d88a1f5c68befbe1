/* The divergence guard (guard.c): a run whose particles leave a ball derived from the
   initial cloud and the target is stopped at the first step outside it, before its state
   is blown up, and told which particle moved fastest. The reasoning behind the ball is at
   the top of guard.c and in the user guide ("The guard"). */
#ifndef DS_GUARD_H
#define DS_GUARD_H

#include <petscvec.h>
#include "ds_field.h"

/* A converging run stays within DS_GUARD_EXTENT_MULTIPLE extents of the centre. */
#define DS_GUARD_EXTENT_MULTIPLE 4
/* A mixture component N(m, C) counts as the ball around m of this many RMS radii sqrt(tr C). */
#define DS_GUARD_COMPONENT_RADII 3.0

typedef struct {
  PetscInt     dim;
  PetscReal   *centre;  /* [d] c: the middle of the bounding box of the initial cloud and the target */
  PetscReal    extent;  /* E: the largest distance from c to a particle of the initial cloud or a point of the target */
  DSGuardSpeed speed;   /* the field type's (DSFieldTypeInfo), and what its bound reads: */
  PetscBool    gaussian, imq, analytic; /* kernel; a mixture target (no samples) */
  PetscBool    euclidean_cost;          /* the sinkhorn field's cost is |x - y| */
  PetscReal    imq_beta;
  PetscInt     n, m, ntemperatures;     /* N, M, the multitemperature field's temperatures */
} DSGuard;

/* The guard of a run with these options and target, whose initial cloud is `cloud` (block
   size d; on a restart the options' initial cloud, regenerated, so that the bound is the
   uninterrupted run's): the centre c of the bounding box of the cloud's particles and the
   target's points (its samples, or for a mixture each component's ball of
   DS_GUARD_COMPONENT_RADII RMS radii) and their extent E, the largest distance from c to one
   of them. Collective (two reductions, once). Free with ds_guard_destroy. */
PETSC_EXTERN PetscErrorCode ds_guard_create(MPI_Comm comm, const DSOptions *opts, const DSTarget *target, Vec cloud, DSGuard *guard);

/* Frees what ds_guard_create allocated. */
PETSC_EXTERN PetscErrorCode ds_guard_destroy(DSGuard *guard);

/* An upper bound of the field's speed |v(x_i)| at any state whose particles and data lie in
   one ball of diameter D, at bandwidth h (guard.c derives each):
     conservative, gaussian kernel   D / h^2 with samples, 2 D / h^2 with a mixture target
     conservative, imq kernel        2 beta / h
     displacement                    D with samples, 2 D with a mixture target
     joint                           sqrt(N M) / 2 * D
     multitemperature                T sqrt(N) D, T temperatures
   and +infinity for a field type it does not know. Local. */
PETSC_EXTERN PetscReal ds_guard_speed_bound(const DSGuard *guard, PetscReal D, PetscReal h);

/* The guard's radius for a step of length dt at bandwidth h: R = K E + dt v_max, with
   K = DS_GUARD_EXTENT_MULTIPLE and v_max = ds_guard_speed_bound(guard, 2 K E, h). Local. */
PETSC_EXTERN PetscReal ds_guard_radius(const DSGuard *guard, PetscReal dt, PetscReal h);

/* Checks the state X reached at `step` (time t) by a step of length dt at bandwidth h from
   the state `previous`: when a particle of X is farther than ds_guard_radius from the
   centre (a non-finite position counts as infinitely far), writes into `problem` what
   happened (the step, t, the radius, the farthest distance, and the particle with the
   largest velocity over the step, |x_i - previous_i| / dt, with its global index and
   speed); otherwise leaves it empty. Collective: one pass over X and one MPI_Allreduce
   while the particles are inside. */
PETSC_EXTERN PetscErrorCode ds_guard_check(const DSGuard *guard, Vec X, Vec previous, PetscInt step, PetscReal t, PetscReal dt, PetscReal h, char problem[], size_t len);

/* The global index of the first particle with a non-finite entry in V (block size d), or -1;
   identical on every rank. Collective. */
PETSC_EXTERN PetscErrorCode ds_guard_first_nonfinite(Vec V, PetscInt *particle);

#endif

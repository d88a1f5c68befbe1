/* PETSc log events of driftsim's phases, so -log_view shows where the time goes. */
#ifndef DS_LOG_H
#define DS_LOG_H

#include <petscsys.h>

typedef struct {
  PetscClassId  classid;
  PetscLogEvent ring_compute; /* visitor work on a block (pair sums) */
  PetscLogEvent ring_wait;    /* waiting for a block or its accumulators to arrive */
  PetscLogEvent field;        /* one evaluation of the velocity field */
  PetscLogEvent diagnostics;  /* monitored diagnostics */
  PetscLogEvent output;       /* HDF5 output */
} DSLogEvents;

PETSC_EXTERN DSLogEvents ds_events;

/* Registers the events once (idempotent); every module that logs calls it at creation. */
PETSC_EXTERN PetscErrorCode ds_log_register(void);

/* Prints, on rank 0, the one greppable line every run ends with: PERF_SUMMARY ranks= n= dim=
   rhs_evals= pairs= (the sum over ranks of local_pairs) wall_s= pairs_per_s=
   pairs_per_s_per_rank= (collective). */
PETSC_EXTERN PetscErrorCode ds_log_perf_summary(MPI_Comm comm, PetscInt n, PetscInt dim, PetscInt rhs_evaluations, PetscLogDouble local_pairs, PetscLogDouble wall);

#endif

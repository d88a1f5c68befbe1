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

#endif

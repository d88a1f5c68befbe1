/* A whole run: options, set-up, PETSc TS integration with monitoring and output. */
#ifndef DS_SIMULATION_H
#define DS_SIMULATION_H

#include <petscsys.h>

/* Reads and validates every option, builds the particles, target and field, integrates
   dx_i/dt = v(x_i) with PETSc TS and writes the output (collective). Bad input raises
   PETSC_ERR_USER_INPUT before any output file is opened. */
PETSC_EXTERN PetscErrorCode ds_simulation_run(MPI_Comm comm);

#endif

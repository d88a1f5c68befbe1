/* Provenance of a run, shared by the output file and the checkpoints: the options database,
   driftsim's version and git revision, compiler and flags, PETSc and HDF5 versions, rank
   count, host and creation time. */
#ifndef DS_PROVENANCE_H
#define DS_PROVENANCE_H

#include <petscsys.h>

typedef struct {
  const char *version;      /* DS_VERSION */
  const char *git_revision; /* the build's `git rev-parse`, "-dirty" when changed; "unknown" outside git */
  const char *compiler;     /* e.g. "gcc 12.2.0" */
  const char *build_flags;  /* the optimisation flags of the build */
  const char *vector_isa;   /* the ISA level the pair loops run (ds_isa_current) */
  char        petsc_version[64], hdf5_version[32];
  PetscMPIInt ranks;
  char       *host;         /* rank 0's host name */
  char       *created;      /* rank 0's UTC time, YYYY-MM-DDTHH:MM:SSZ */
  char       *options;      /* rank 0's options database as text */
} DSProvenance;

/* Fills p with the same values on every rank of comm (host, time and options are rank 0's).
   Collective; free with ds_provenance_free. */
PETSC_EXTERN PetscErrorCode ds_provenance_get(MPI_Comm comm, DSProvenance *p);

/* Frees what ds_provenance_get allocated. */
PETSC_EXTERN PetscErrorCode ds_provenance_free(DSProvenance *p);

/* Rank 0's current UTC time (YYYY-MM-DDTHH:MM:SSZ, or "unknown") on every rank of comm, in
   *when (free with PetscFree). Collective. */
PETSC_EXTERN PetscErrorCode ds_provenance_now(MPI_Comm comm, char **when);

#endif

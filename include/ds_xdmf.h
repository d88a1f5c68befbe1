/* The XDMF sidecar of an output file: a text description of its particle snapshots that
   lets ParaView and VisIt open the HDF5 time series. */
#ifndef DS_XDMF_H
#define DS_XDMF_H

#include <stdio.h>
#include <petscsys.h>

/* The snapshots of an output file, as /particles holds them. */
typedef struct {
  const char      *h5;       /* the HDF5 file as the sidecar names it (its base name, so the pair can move together) */
  PetscInt         n, dim;   /* particles per snapshot and their dimension */
  PetscInt         count;    /* snapshots */
  const PetscInt  *steps;    /* [count] /particles/step */
  const PetscReal *times;    /* [count] /particles/time */
  PetscBool        velocity; /* /particles/velocity exists */
} DSXdmfSeries;

/* Writes the XDMF 2 description of the series to f, a pure function of the series: a
   temporal collection with one Uniform grid per snapshot named "step S", at Time Value
   times[t] (17 significant digits), with N Polyvertex points whose geometry (XY for d = 2,
   XYZ otherwise) and, with `velocity`, velocity vectors are HyperSlab DataItems selecting
   [1][N][d] at [t 0 0] of the [count][N][d] float64 datasets <h5>:/particles/position and
   <h5>:/particles/velocity. XML's special characters in h5 are escaped. Local; write errors
   are left in f's error indicator. */
PETSC_EXTERN PetscErrorCode ds_xdmf_write(FILE *f, const DSXdmfSeries *series);

/* The sidecar of the output file `path`: the path without a final .h5, plus .xmf. */
PETSC_EXTERN PetscErrorCode ds_xdmf_sidecar_path(const char *path, char sidecar[], size_t len);

/* Brings the file `sidecar` up to date with the series (local, called by one rank after
   the HDF5 file was flushed): writes it into `sidecar`.tmp renamed over the old one, so a
   killed job leaves one that describes flushed snapshots. There is none without snapshots,
   nor in 1-D (XDMF has no one-coordinate geometry, and XY would need a column of zeros the
   file does not hold) or beyond 3-D; an old one is removed then. *err is 0, or the errno
   of a failure. */
PETSC_EXTERN PetscErrorCode ds_xdmf_update(const char *sidecar, const DSXdmfSeries *series, int *err);

#endif

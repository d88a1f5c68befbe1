/* The XDMF sidecar of an output file: a text description of its particle snapshots that
   lets ParaView and VisIt open the HDF5 time series. */
#ifndef DS_XDMF_H
#define DS_XDMF_H

#include <stdio.h>
#include <petscsys.h>

/* The snapshots of an output file, as /particles holds them. */
typedef struct {
  const char      *h5;       /* the HDF5 file as the views name it (its base name, so the files can move together) */
  const char      *views;    /* the views file as the sidecar names it (its base name) */
  PetscInt         n, dim;   /* particles per snapshot and their dimension */
  PetscInt         count;    /* snapshots */
  const PetscInt  *steps;    /* [count] /particles/step */
  const PetscReal *times;    /* [count] /particles/time */
  PetscBool        velocity; /* /particles/velocity exists */
} DSXdmfSeries;

/* Writes the XDMF 2 description of the series to f, a pure function of the series: a
   temporal collection with one Uniform grid per snapshot named "step S", at Time Value
   times[t] (17 significant digits), with N points, a Polyvertex topology of N one-point
   cells whose connectivity is <views>:/cells ([N][1] int32), and whose geometry (XY for
   d = 2, XYZ otherwise) and, with `velocity`, velocity vectors are the [N][d] float64
   datasets <views>:/position/<t> and <views>:/velocity/<t> (ds_xdmf_update makes them).
   XML's special characters in the names are escaped. Local; write errors are left in f's
   error indicator. */
PETSC_EXTERN PetscErrorCode ds_xdmf_write(FILE *f, const DSXdmfSeries *series);

/* The sidecar and the views file of the output file `path`: the path without a final .h5,
   plus .xmf and .views.h5. */
PETSC_EXTERN PetscErrorCode ds_xdmf_paths(const char *path, char sidecar[], char views[], size_t len);

/* Brings the views file `views` and then the file `sidecar` up to date with the series
   (local, called by one rank after the HDF5 file was flushed): the views file gets the
   virtual datasets of new snapshots and loses those of snapshots cut by a restart; the
   sidecar is written into `sidecar`.tmp renamed over the old one, so a killed job leaves one
   that describes flushed snapshots. There is none without snapshots,
   nor in 1-D (XDMF has no one-coordinate geometry, and XY would need a column of zeros the
   file does not hold) or beyond 3-D; an old one (and its views file) is removed then. *err is 0, or the errno
   of a failure. */
PETSC_EXTERN PetscErrorCode ds_xdmf_update(const char *sidecar, const char *views, const DSXdmfSeries *series, int *err);

#endif

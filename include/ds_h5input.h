/* Input tables from HDF5 files: a dataset of [rows][cols] numbers (target samples, initial
   clouds) read in parallel, each rank its own block of rows. Every problem with the file or
   the dataset raises PETSC_ERR_USER_INPUT on every rank, with a message
   "<option> <file>, dataset <dataset>: <problem>". */
#ifndef DS_H5INPUT_H
#define DS_H5INPUT_H

#include <petscsys.h>

/* Checks (collectively) that `dataset` of `file` exists and is a 2-D table of numbers with
   `cols` columns (the run's -drift_dim) and at least one row, and returns its row count.
   With cols == 1 a 1-D dataset of numbers [rows] (per-point weights) is accepted as well.
   `option` is the option that named the file (e.g. -drift_target_file). */
PETSC_EXTERN PetscErrorCode ds_h5input_shape(MPI_Comm comm, const char *file, const char *dataset, const char *option, PetscInt cols, PetscInt *rows);

/* Reads rows [first, first + nrows) of the table into values ([nrows][cols], row-major;
   nrows may be 0 and blocks of different ranks may overlap). Collective: the file is opened
   through MPI-IO and read with one collective transfer. A NaN or Inf in any rank's rows is
   raised on every rank naming the lowest such global row. */
PETSC_EXTERN PetscErrorCode ds_h5input_read_rows(MPI_Comm comm, const char *file, const char *dataset, const char *option, PetscInt first, PetscInt nrows, PetscInt cols, PetscReal *values);

/* This rank's block of a table read whole: `global` rows in all, rows [start, start +
   local) here, as values [local][cols] (allocated; free with PetscFree). */
typedef struct {
  PetscInt   global, local, start;
  PetscReal *values;
} DSH5InputRows;

/* Reads the table `dataset` of `file` (checked as ds_h5input_shape, then read as
   ds_h5input_read_rows) split over the ranks of comm like particles (ds_split_rows), or
   every row on every rank when `replicated`: the target samples of -drift_target file and
   the joint fields' negatives. On an error nothing is left allocated. Collective. */
PETSC_EXTERN PetscErrorCode ds_h5input_read_split(MPI_Comm comm, const char *file, const char *dataset, const char *option, PetscInt cols, PetscBool replicated, DSH5InputRows *rows);

#endif

/* The joint fields' extra columns (joint.h): the explicit negative samples, read like the
   target's file samples (ds_h5input_read_split) and circulated like them, and the column
   weights of each set, one per point, read from 1-D HDF5 datasets. */
#include <stdio.h>
#include "joint.h"
#include "ds_h5input.h"

/* What a set's points are called in messages. */
static const char *const set_points[] = {"particles (-drift_n)", "target samples", "negative samples"};

/* Checks this rank's n weights w (global indices from `first`) of one column set: none
   below 0 (the lowest such index over the ranks is named) and a positive sum over the set,
   returned in *total. `replicated`: every rank holds the whole set. Collective. */
static PetscErrorCode check_weights(MPI_Comm comm, const char *option, const char *file, const char *dataset, PetscInt first, PetscInt n, const PetscReal *w, PetscBool replicated, PetscReal *total)
{
  PetscInt  bad = PETSC_MAX_INT, first_bad;
  PetscReal sum = 0;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++) {
    if (!(w[i] >= 0) && bad == PETSC_MAX_INT) bad = first + i;
    sum += w[i];
  }
  PetscCallMPI(MPI_Allreduce(&bad, &first_bad, 1, MPIU_INT, MPI_MIN, comm));
  PetscCheck(first_bad == PETSC_MAX_INT, comm, PETSC_ERR_USER_INPUT, "%s %s, dataset %s: weight %" PetscInt_FMT " (counting from 0) is negative; weights must be >= 0", option, file, dataset, first_bad);
  if (replicated) *total = sum;
  else PetscCallMPI(MPI_Allreduce(&sum, total, 1, MPIU_REAL, MPI_SUM, comm));
  PetscCheck(*total > 0, comm, PETSC_ERR_USER_INPUT, "%s %s, dataset %s: every weight is 0; at least one must be > 0", option, file, dataset);
  PetscFunctionReturn(0);
}

/* The column weights of this rank's block of `set`: all 1 without a weights file, else
   the block's entries of the file's 1-D dataset, which has one weight per point. */
static PetscErrorCode read_weights(DSField f, const DSOptions *o, DSJoint *J, DSSourceSet set)
{
  const DSColumnSet column     = ds_source_columns(set);
  const DSBlock    *block      = &J->sources->block[set];
  const char       *file       = o->weights_file[column], *dataset = o->weights_dataset[column];
  const PetscBool   replicated = (set != DS_SOURCES_PARTICLES && o->replicate_data) ? PETSC_TRUE : PETSC_FALSE;
  char              option[64];
  PetscInt          rows;
  PetscReal         total;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(PetscMax(block->n, 1), &J->weights[set]));
  if (!file[0]) {
    for (PetscInt j = 0; j < block->n; j++) J->weights[set][j] = 1.0;
    J->weight_total += (PetscReal)J->columns_global[set];
    PetscFunctionReturn(0);
  }
  snprintf(option, sizeof(option), "-drift_%s_weights_file", DSColumnSets[column]);
  PetscCall(ds_h5input_shape(f->comm, file, dataset, option, 1, &rows));
  PetscCheck(rows == J->columns_global[set], f->comm, PETSC_ERR_USER_INPUT, "%s %s, dataset %s: has %" PetscInt_FMT " weights, but there are %" PetscInt_FMT " %s; give one weight per point", option, file, dataset, rows, J->columns_global[set], set_points[set]);
  PetscCall(ds_h5input_read_rows(f->comm, file, dataset, option, block->start, block->n, 1, J->weights[set]));
  PetscCall(check_weights(f->comm, option, file, dataset, block->start, block->n, J->weights[set], replicated, &total));
  J->weighted = PETSC_TRUE;
  J->weight_total += total;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_joint_columns_read(DSField f, const DSOptions *o, DSJoint *J)
{
  PetscFunctionBeginUser;
  J->columns_global[DS_SOURCES_PARTICLES] = f->global_count;
  J->columns_global[DS_SOURCES_DATA]      = f->target->samples_global;
  if (o->negatives_file[0]) {
    DSH5InputRows  rows;
    PetscErrorCode ierr;
    PetscCall(ds_h5input_read_split(f->comm, o->negatives_file, o->negatives_dataset, "-drift_negatives_file", f->dim, o->replicate_data, &rows));
    ierr = ds_field_sources_add(f, J->sources, DS_SOURCES_NEGATIVES, rows.local, rows.values, o->replicate_data);
    PetscCall(PetscFree(rows.values));
    PetscCall(ierr);
    J->negatives                            = PETSC_TRUE;
    J->columns_global[DS_SOURCES_NEGATIVES] = rows.global;
  }
  for (int set = 0; set < DS_SOURCE_SETS; set++)
    if (set != DS_SOURCES_NEGATIVES || J->negatives) PetscCall(read_weights(f, o, J, (DSSourceSet)set));
  PetscFunctionReturn(0);
}

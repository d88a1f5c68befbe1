/* The options' derived checks and texts (ds_options.h) that stand apart from reading and
   validating them in options.c: the index-width limits and the temperatures as text. */
#include "ds_options.h"

/* Refuses a count `count` of entries (a product of options, `what`) that PetscInt cannot
   index. Every factor is at most PETSC_MAX_INT, so products of two fit in 64 bits. */
static PetscErrorCode check_index_width(MPI_Comm comm, const char *what, PetscInt64 a, PetscInt64 b, PetscInt64 c)
{
  const PetscInt64 ab    = a * b;
  const PetscBool  large = (ab > PETSC_MAX_INT || ab * c > PETSC_MAX_INT) ? PETSC_TRUE : PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCheck(!large, comm, PETSC_ERR_USER_INPUT, "%s: %.0f entries, more than the %" PetscInt_FMT " that this PETSc build's %d-bit indices can address; use fewer, or a PETSc configured with --with-64-bit-indices", what, (double)a * (double)b * (double)c, PETSC_MAX_INT, (int)(8 * sizeof(PetscInt)));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_options_check_index_width(MPI_Comm comm, const DSOptions *o)
{
  char what[256];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(what, sizeof(what), "-drift_n %" PetscInt_FMT " -drift_dim %" PetscInt_FMT ": the positions N d", o->n, o->dim));
  PetscCall(check_index_width(comm, what, o->n, o->dim, 1));
  PetscCall(PetscSNPrintf(what, sizeof(what), "-drift_target_samples %" PetscInt_FMT " -drift_dim %" PetscInt_FMT ": the target samples M d", o->target_samples, o->dim));
  if (o->target != DS_TARGET_FILE) PetscCall(check_index_width(comm, what, o->target_samples, o->dim, 1));
  PetscCall(PetscSNPrintf(what, sizeof(what), "-drift_diagnostics_samples %" PetscInt_FMT " -drift_dim %" PetscInt_FMT ": the diagnostics samples", o->diagnostics_samples, o->dim));
  PetscCall(check_index_width(comm, what, o->diagnostics_samples, o->dim, 1));
  PetscCall(PetscSNPrintf(what, sizeof(what), "-drift_sliced_w2_projections %" PetscInt_FMT " -drift_dim %" PetscInt_FMT ": the directions", o->sliced_w2_projections, o->dim));
  PetscCall(check_index_width(comm, what, o->sliced_w2_projections, o->dim, 1));
  PetscCall(PetscSNPrintf(what, sizeof(what), "-drift_bandwidth_pairs %" PetscInt_FMT " -drift_dim %" PetscInt_FMT ": the sampled pairs' ends 2 P d", o->bandwidth_pairs, o->dim));
  if (o->bandwidth_rule == DS_BANDWIDTH_MEDIAN) PetscCall(check_index_width(comm, what, 2 * o->bandwidth_pairs, o->dim, 1));
  PetscCall(PetscSNPrintf(what, sizeof(what), "-drift_fisher_draws %" PetscInt_FMT " -drift_n %" PetscInt_FMT " -drift_dim %" PetscInt_FMT ": the Fisher draws N Q d", o->fisher_draws, o->n, o->dim));
  if (o->diagnostics & DS_DIAGNOSTIC_THEOREM) PetscCall(check_index_width(comm, what, o->n, o->fisher_draws, o->dim));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_options_temperatures_text(const DSOptions *o, char text[], size_t len)
{
  char item[32];

  PetscFunctionBeginUser;
  text[0] = 0;
  for (PetscInt k = 0; k < o->ntemperatures; k++) {
    PetscCall(PetscSNPrintf(item, sizeof(item), "%s%.15g", k ? "," : "", (double)o->temperatures[k]));
    PetscCall(PetscStrlcat(text, item, len));
  }
  PetscFunctionReturn(0);
}

/* What a field type implements (PETSc's _p_TS pattern): the DSField object with its ops
   table and private data. Included by src/fields/ only; consumers see ds_field.h. */
#ifndef DS_FIELD_IMPL_H
#define DS_FIELD_IMPL_H

#include "ds_field.h"
#include "ds_kernels.h"
#include "ds_log.h"

#if defined(PETSC_USE_COMPLEX)
  #error "driftsim needs a real-scalar PETSc build"
#endif

/* The operations of a field type. Positions and velocities are this rank's rows [n][d]. */
typedef struct {
  /* v = the field at the particles x with bandwidth h; also the field's own diagnostics
     when field->want_diagnostics. */
  PetscErrorCode (*evaluate)(DSField field, PetscReal h, const PetscReal *x, PetscReal *v);
  /* v = the field of particles x at nz query points z (no self pair); NULL when the
     field is defined at the particles only. */
  PetscErrorCode (*evaluate_at)(DSField field, PetscReal h, const PetscReal *x, PetscInt nz, const PetscReal *z, PetscReal *v);
  /* Frees field->data; NULL when there is nothing to free. */
  PetscErrorCode (*destroy)(DSField field);
} DSFieldOps;

struct DSField_ {
  DSFieldOps              ops;
  void                   *data; /* the type's private state */
  const DSFieldTypeInfo  *type;
  MPI_Comm                comm;
  const DSOptions        *opts; /* borrowed for the duration of create only */
  DSTarget               *target;
  DSKernel                kernel;
  PetscBool               exclude_self; /* in particle sums at the particles */
  PetscInt                dim, local_count, global_count, particle_start;
  PetscLogDouble          pairs; /* pair interactions done by this rank */
  /* The field's own diagnostics, declared at creation (ds_field_declare_diagnostic). */
  PetscBool want_diagnostics;
  PetscInt  ndiagnostics;
  char     *diagnostic_names[DS_FIELD_MAX_OWN_DIAGNOSTICS];
  PetscReal diagnostic_values[DS_FIELD_MAX_OWN_DIAGNOSTICS];
  PetscBool underflow_said; /* the note of ds_field_count_underflow was printed */
};

/* Declares one of the field's own diagnostics (NaN until set); *slot is where its value
   goes in field->diagnostic_values. Called by a type's create function. */
PETSC_INTERN PetscErrorCode ds_field_declare_diagnostic(DSField field, const char name[], PetscInt *slot);

/* Sets the diagnostic in `slot` (underflowed_particles) to the global count of particles
   that feel no drift because every kernel value entering their velocity underflowed to 0
   (`local` of them on this rank), and the first time it is non-zero says so on rank 0 (a
   "driftsim: note:" line on stdout with the count, h and the advice of a larger
   -drift_bandwidth). Collective. */
PETSC_INTERN PetscErrorCode ds_field_count_underflow(DSField field, PetscInt slot, PetscReal h, PetscInt local);

/* sqrt(sum_i |v_i|^2 / (N d)) over the particle rows v ([local_count][d]), collective. */
PETSC_INTERN PetscErrorCode ds_field_rms(DSField field, const PetscReal *v, PetscReal *rms);

#endif

/* Private state of the field module, shared by field.c (row-normalised fields, the
   companion decomposition) and field_joint.c (joint and multitemperature fields). */
#ifndef DS_FIELD_IMPL_H
#define DS_FIELD_IMPL_H

#include "ds_field.h"
#include "ds_kernels.h"
#include "ds_ring.h"
#include "ds_log.h"

#if defined(PETSC_USE_COMPLEX)
  #error "driftsim needs a real-scalar PETSc build"
#endif

struct DSField_ {
  MPI_Comm    comm;
  DSFieldType type;
  DSKernel    kernel;
  DSWeight    weight;
  PetscBool   exclude_self;
  DSTarget   *target;
  PetscInt    dim, local_count, global_count;
  DSRing      particle_ring, data_ring;
  PetscInt    particle_start, data_start;
  PetscReal  *particles; /* [d][local_count] this rank's particles, structure of arrays */
  PetscReal  *data;      /* [d][samples_local] this rank's target samples (constant) */
  /* Per query point, grown on demand by evaluate_at: the query points and t_X, t_Y
     ([d][capacity]), the analytic target score ([capacity][d]) and the kernel sums. */
  PetscInt       capacity;
  PetscReal     *query, *t_x, *t_y, *score;
  DSKernelSums   sums_x, sums_y;
  /* Joint fields: row sums, column sums or weights of particle and data columns, and one
     temperature's field ([local_count][d]). */
  PetscReal *row_sums, *particle_columns, *data_columns, *field_at_temperature;
  PetscReal  cutoff_tol; /* > 0: sums over neighbouring cells only */
  DSCells    cells;      /* the visiting block sorted into cells */
  PetscInt   ntemperatures;
  PetscReal  temperatures[DS_MAX_TEMPERATURES];
  /* The field's own diagnostics (ds_field_get_diagnostics). */
  PetscBool      want_diagnostics;
  PetscInt       ndiagnostics;
  char          *diagnostic_names[DS_FIELD_MAX_OWN_DIAGNOSTICS];
  PetscReal      diagnostic_values[DS_FIELD_MAX_OWN_DIAGNOSTICS];
  PetscLogDouble pairs;
};

/* A ring visit of ds_field_visit_sums: the query block and where its sums go. */
typedef struct {
  DSField        field;
  const DSBlock *query;
  DSKernelSums  *sums;
  PetscBool      exclude_self;
} DSFieldVisit;

/* Ring visitor: kernel sums (the field's weight) of the query block against the visiting
   block, whose points are weighted by the travelling values when the ring carries them. */
PETSC_INTERN PetscErrorCode ds_field_visit_sums(void *ctx, const DSBlock *visiting, PetscReal *travelling);

/* Copies this rank's particle rows of X into f->particles (structure of arrays). */
PETSC_INTERN PetscErrorCode ds_field_load_particles(DSField f, Vec X);

/* The joint field (SCIENCE.md item 3) with bandwidth h at the particles already loaded,
   into v ([local_count][d]). */
PETSC_INTERN PetscErrorCode ds_field_joint(DSField f, PetscReal h, PetscReal *v);

/* The multitemperature field (SCIENCE.md item 4) at the particles already loaded. */
PETSC_INTERN PetscErrorCode ds_field_multitemperature(DSField f, PetscReal *v);

/* sqrt(sum_i |v_i|^2 / (N d)) over the particle rows v ([local_count][d]), collective. */
PETSC_INTERN PetscErrorCode ds_field_rms(DSField f, const PetscReal *v, PetscReal *rms);

#endif

/* The ring-sum plumbing shared by the field types: the two source sets of every kernel
   sum (this rank's particles and its target samples, as structure-of-arrays blocks), the
   rings that bring every rank's blocks by, and the visitor that accumulates kernel sums
   of a query block against each visiting block (through cell lists under a cutoff). */
#ifndef DS_FIELD_SOURCES_H
#define DS_FIELD_SOURCES_H

#include "field_impl.h"
#include "ds_ring.h"

/* A source set: the particles x_j or the target samples y_k. */
typedef enum { DS_SOURCES_PARTICLES, DS_SOURCES_DATA } DSSourceSet;

typedef struct {
  DSRing     ring[2];   /* particles; samples (over PETSC_COMM_SELF when replicated) */
  DSBlock    block[2];  /* this rank's block of each set; the samples' is empty for an analytic target */
  PetscReal *soa[2];    /* their [d][n] storage */
  PetscReal  cutoff_tol; /* > 0: sums over neighbouring cells only */
  DSCells    cells;      /* the visiting block sorted into cells */
} DSFieldSources;

/* Creates the sources of `field` (collective): rings over the particles and, for a
   sample target, over the samples, whose block is filled once here. */
PETSC_INTERN PetscErrorCode ds_field_sources_create(DSField field, PetscReal cutoff_tol, DSFieldSources **sources);

/* Copies this rank's particle rows x ([local_count][d]) into the particle block. */
PETSC_INTERN void ds_field_sources_load(DSField field, DSFieldSources *sources, const PetscReal *x);

/* One ring pass of `visit` over every rank's block of `set`, with one travelling value
   per point (`travelling`, [n] of this rank's block, or NULL). */
PETSC_INTERN PetscErrorCode ds_field_sources_pass(DSFieldSources *sources, DSSourceSet set, DSRingVisitor visit, void *ctx, PetscReal *travelling);

/* sums = the kernel sums (field->kernel, `weight`) of `query` against every point of
   `set`, each source weighted by its travelling value when `travelling` is given (the
   joint field's column weights); the self pair excluded when exclude_self. Zeroes the
   sums first (the companion too when requested, sums->companion != NULL). Collective. */
PETSC_INTERN PetscErrorCode ds_field_sources_sum(DSField field, DSFieldSources *sources, DSWeight weight, const DSBlock *query, DSSourceSet set, PetscBool exclude_self, PetscReal *travelling, DSKernelSums *sums);

/* Frees the sources. */
PETSC_INTERN PetscErrorCode ds_field_sources_destroy(DSFieldSources **sources);

#endif

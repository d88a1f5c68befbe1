/* The ring-sum plumbing shared by the field types: the source sets of every kernel sum
   (this rank's particles, its target samples and, for the joint fields, its negative
   samples, as structure-of-arrays blocks), the
   rings that bring every rank's blocks by, and the kernel sums of a query block against a
   source set by the method of -drift_sum: every pair (a ring pass), cell lists under a
   cutoff (a ring pass), or the fast Gauss transform (moments exchanged, ds_fgt.h); the
   fast methods' sums come with a bound on their error, and a sum they cannot certify is
   recomputed over every pair. */
#ifndef DS_FIELD_SOURCES_H
#define DS_FIELD_SOURCES_H

#include "field_impl.h"
#include "ds_ring.h"
#include "ds_fgt.h"

/* A source set: the particles x_j, the target samples y_k, the negative samples. */
typedef enum { DS_SOURCES_PARTICLES, DS_SOURCES_DATA, DS_SOURCES_NEGATIVES } DSSourceSet;
/* The options' column set (ds_options.h) of a source set. */
static inline DSColumnSet ds_source_columns(DSSourceSet set)
{
  return set == DS_SOURCES_PARTICLES ? DS_COLUMNS_PARTICLES : set == DS_SOURCES_DATA ? DS_COLUMNS_DATA : DS_COLUMNS_NEGATIVES;
}
#define DS_SOURCE_SETS 3

/* Travelling values per point a ring carries at most (the floored joint fields' column
   sums and column weights); with the symmetric schedule the particles' ring also carries
   the partner sums, a value and d moments. */
#define DS_SOURCES_MAX_TRAVELLING 2

typedef struct {
  DSRing     ring[DS_SOURCE_SETS];  /* per set; over PETSC_COMM_SELF for replicated samples; NULL for a set that is absent */
  DSBlock    block[DS_SOURCE_SETS]; /* this rank's block of each set; empty for an absent set */
  PetscReal *soa[DS_SOURCE_SETS];   /* their [d][n] storage */
  PetscBool  replicated[DS_SOURCE_SETS]; /* every rank holds the whole set */
  DSSumMethod method;    /* -drift_sum */
  PetscReal  sum_tol;    /* -drift_sum_tol */
  DSFgt      fgt;        /* the transform's communicator, when method is fgt or auto */
  DSSumMethod last;      /* the method of the last sum (auto resolved) */
  unsigned   said[DS_SOURCE_SETS]; /* auto: the methods already said for each set's sums (bit per DSSumMethod) */
  PetscInt   fallbacks;  /* queries of the last sum recomputed over every pair (global count) */
  PetscBool  symmetric;  /* the particle-particle sums may take the half ring (ds_field_sources_create) */
  PetscReal *partner;    /* [1 + d][local particles] the partner sums travelling with the particles, when symmetric */
  DSCells    cells;      /* the visiting block sorted into cells */
} DSFieldSources;

/* Creates the sources of `field` (collective): rings over the particles and, for a
   sample target, over the samples, whose block is filled once here; their sums by
   `method` to tolerance sum_tol. With symmetric_pairs (ds_field_sources_symmetric_pairs
   of the caller's particle sums) the particles' ring also carries the partner sums. */
PETSC_INTERN PetscErrorCode ds_field_sources_create(DSField field, DSSumMethod method, PetscReal sum_tol, PetscBool symmetric_pairs, DSFieldSources **sources);

/* Whether a field's particle-particle sums of `weight` (values and moments) take the
   symmetric schedule: -drift_pair_schedule symmetric, -drift_sum exact (or auto, whenever it
   takes every pair), and a kernel, weight and dimension the symmetric micro-kernel serves
   (ds_kernel_symmetric_apply). */
PETSC_INTERN PetscBool ds_field_sources_symmetric_pairs(DSField field, DSWeight weight);

/* Adds the fixed source set `set` (collective): this rank's `local` points rows
   ([local][d], copied), global indices from `start` of the ring's layout, circulated
   around the ranks of the field, or visited locally when `replicated` (every rank holds
   every point). */
PETSC_INTERN PetscErrorCode ds_field_sources_add(DSField field, DSFieldSources *sources, DSSourceSet set, PetscInt local, const PetscReal *rows, PetscBool replicated);

/* Copies this rank's particle rows x ([local_count][d]) into the particle block. */
PETSC_INTERN void ds_field_sources_load(DSField field, DSFieldSources *sources, const PetscReal *x);

/* One ring pass of `visit` over every rank's block of `set`, with `nvalues` (at most
   DS_SOURCES_MAX_TRAVELLING) travelling values per point (`travelling`, [nvalues][n] of
   this rank's block, or NULL for none). */
PETSC_INTERN PetscErrorCode ds_field_sources_pass(DSFieldSources *sources, DSSourceSet set, DSRingVisitor visit, void *ctx, PetscInt nvalues, PetscReal *travelling);

/* sums = the kernel sums (field->kernel, `weight`) of `query` against every point of
   `set`, each source weighted by its travelling value when `travelling` is given (the
   joint field's column weights); the self pair excluded when exclude_self. Zeroes the
   sums first (the companion too when requested, sums->companion != NULL). When the queries
   are the particles themselves (query->start >= 0, set DS_SOURCES_PARTICLES), the sources
   were created with symmetric_pairs and these sums need nothing more than the symmetric
   micro-kernel gives (no travelling weights, no companion: ds_kernel_symmetric_apply),
   each pair's kernel value is computed once, for both particles, on a half ring.
   By the sources' method: cutoff and fgt where they serve the sums (unweighted sources,
   values and moments; fgt: the gaussian kernel, d <= 3), auto as the cost model of
   doc/design.md "Fast sums" chooses, every pair otherwise. When bound is not NULL,
   bound[i] and bound[query->n + i] bound the error of query i's value and of each of its
   moment components (0 for sums over every pair). A fast sum whose value bound exceeds
   ds_sums_certify(sum_tol) of its value is recomputed over every pair (sources->fallbacks counts
   them). Collective. */
PETSC_INTERN PetscErrorCode ds_field_sources_sum(DSField field, DSFieldSources *sources, DSWeight weight, const DSBlock *query, DSSourceSet set, PetscBool exclude_self, PetscReal *travelling, DSKernelSums *sums, PetscReal *bound);

/* Frees the sources. */
PETSC_INTERN PetscErrorCode ds_field_sources_destroy(DSFieldSources **sources);

#endif

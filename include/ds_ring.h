/* The ring engine (DESIGN.md): each rank's block of points visits every rank once,
   travelling to the next rank with non-blocking messages while the current block is
   worked on. Optional per-point accumulators travel with the block and come home to
   its owner. The engine knows nothing about drifting: a visitor does the work. */
#ifndef DS_RING_H
#define DS_RING_H

#include "ds_kernels.h"

typedef struct DSRing_ *DSRing;

/* Work on one visiting block. `accumulators` is [naccumulators][visiting->n] (row stride
   visiting->n), travelling with the block; NULL when the ring carries none. */
typedef PetscErrorCode (*DSRingVisitor)(void *ctx, const DSBlock *visiting, PetscReal *accumulators);

/* Creates a ring over comm for blocks of `local_count` points of dimension dim on this
   rank, carrying `naccumulators` values per point (collective). A ring over a
   one-rank communicator (e.g. PETSC_COMM_SELF for replicated data) visits only locally. */
PETSC_EXTERN PetscErrorCode ds_ring_create(MPI_Comm comm, PetscInt dim, PetscInt local_count, PetscInt naccumulators, DSRing *ring);

/* Global index of this rank's first point and the global count. */
PETSC_EXTERN PetscErrorCode ds_ring_get_layout(DSRing ring, PetscInt *start, PetscInt *global_count);

/* One pass (collective): the local block `points` (structure-of-arrays, points->n equal to
   local_count) and then every other rank's block are handed to `visit`, in ring order.
   When the ring carries accumulators, `home_accumulators` ([naccumulators][local_count])
   receives the sums the whole ring accumulated for this rank's points (overwritten). */
PETSC_EXTERN PetscErrorCode ds_ring_pass(DSRing ring, const DSBlock *points, DSRingVisitor visit, void *ctx, PetscReal *home_accumulators);

/* Frees the ring. */
PETSC_EXTERN PetscErrorCode ds_ring_destroy(DSRing *ring);

#endif

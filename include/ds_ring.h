/* The ring engine (DESIGN.md): each rank's block of points visits every rank once,
   travelling to the next rank with non-blocking messages while the current block is
   worked on. Optional per-point values travel with the block and come home to its owner:
   accumulators that every rank adds to (column sums), or data every rank reads (column
   weights). The engine knows nothing about drifting: a visitor does the work. */
#ifndef DS_RING_H
#define DS_RING_H

#include "ds_block.h"

typedef struct DSRing_ *DSRing;

/* Work on one visiting block. `travelling` is [nvalues][visiting->n] (row stride
   visiting->n), the values travelling with the block; NULL when the ring carries none. */
typedef PetscErrorCode (*DSRingVisitor)(void *ctx, const DSBlock *visiting, PetscReal *travelling);

/* Creates a ring over comm for blocks of `local_count` points of dimension dim on this
   rank, able to carry `nvalues` travelling values per point (collective). The ring sends
   on its own duplicate of comm with its own tags, so it never matches the caller's
   messages on comm. A ring over a one-rank communicator (e.g. PETSC_COMM_SELF for
   replicated data) visits only locally. */
PETSC_EXTERN PetscErrorCode ds_ring_create(MPI_Comm comm, PetscInt dim, PetscInt local_count, PetscInt nvalues, DSRing *ring);

/* Global index of this rank's first point and the global count. */
PETSC_EXTERN PetscErrorCode ds_ring_get_layout(DSRing ring, PetscInt *start, PetscInt *global_count);

/* One pass (collective): the local block `points` (structure-of-arrays, points->n equal to
   local_count) and then every other rank's block are handed to `visit`, in ring order.
   `travelling` ([nvalues][local_count], or NULL for none) holds on entry the values that
   leave with this rank's block and on return the values that came home with it, after
   every rank's visitor saw them. `nvalues` may be fewer than the ring was created for. */
PETSC_EXTERN PetscErrorCode ds_ring_pass(DSRing ring, const DSBlock *points, DSRingVisitor visit, void *ctx, PetscInt nvalues, PetscReal *travelling);

/* The pairs one step of a symmetric pass computes: home rows [home[0], home[1]) against
   visiting rows [visiting[0], visiting[1]); on the diagonal (the home block visiting
   itself, step 0) only the pairs i < j of those rows, and the self pairs. */
typedef struct {
  PetscBool diagonal;
  PetscInt  home[2];
  PetscInt  visiting[2];
} DSRingPairs;

/* Work on the pairs `pairs` of the home block and one visiting block, adding each pair's
   contribution to both points: the home point's at home, the visiting point's to
   `travelling` ([nvalues][visiting->n]), which carries it to the visiting block's owner. */
typedef PetscErrorCode (*DSRingPairVisitor)(void *ctx, const DSBlock *visiting, PetscReal *travelling, const DSRingPairs *pairs);

/* The symmetric (half-ring) pass (collective): every unordered pair of points of the ring
   handed to `visit` exactly once, and every point paired with itself once, in floor(P/2)
   shifts instead of P - 1: the blocks go halfway round, and at the middle step of an even
   ring the two ranks holding each other's block split its pairs (DSRingPairs). As in
   ds_ring_pass, `travelling` holds on entry the values leaving with this rank's block and
   on return those that came home with it. */
PETSC_EXTERN PetscErrorCode ds_ring_pass_symmetric(DSRing ring, const DSBlock *points, DSRingPairVisitor visit, void *ctx, PetscInt nvalues, PetscReal *travelling);

/* Frees the ring and releases its communicator. */
PETSC_EXTERN PetscErrorCode ds_ring_destroy(DSRing *ring);

#endif

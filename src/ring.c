/* Ring engine: P - 1 shifts of a coordinate block to the right neighbour with
   MPI_Isend/MPI_Irecv posted before the current block is worked on, so the transfer of
   the next block overlaps the work on this one. Travelling values may be updated by the
   work, so they follow after it, one small message per step; the last of these brings
   each block's values back to its owner.

   The ring talks on PETSc's inner duplicate of the caller's communicator
   (PetscCommDuplicate), with two tags of its own from PetscCommGetNewTag: its messages
   can match no message of the caller's on the caller's communicator, whatever tags the
   caller uses, nor those of another ring or PETSc object (every one draws its own tags).
   The inner communicator is the one PETSc's own objects already share, so a ring costs no
   MPI_Comm_dup. */
#include "ds_ring.h"
#include "ds_log.h"

struct DSRing_ {
  MPI_Comm    comm;                            /* PETSc's inner duplicate of the caller's */
  PetscMPIInt tag_coordinates, tag_travelling; /* this ring's own tags on it */
  PetscMPIInt size, rank, left, right;
  PetscInt    dim, max_values;
  PetscInt   *counts; /* [size] points of each rank's block */
  PetscInt   *starts; /* [size + 1] global index of each block's first point */
  PetscReal  *coordinates[2];  /* current and next block, [dim][count] packed */
  PetscReal  *values[2];      /* travelling values, [nvalues][count] packed */
};

PetscErrorCode ds_ring_create(MPI_Comm comm, PetscInt dim, PetscInt local_count, PetscInt nvalues, DSRing *ring)
{
  DSRing   r;
  PetscInt max_count = 0;

  PetscFunctionBeginUser;
  PetscCall(ds_log_register());
  PetscCall(PetscNew(&r));
  PetscCall(PetscCommDuplicate(comm, &r->comm, &r->tag_coordinates));
  PetscCall(PetscCommGetNewTag(r->comm, &r->tag_travelling));
  r->dim           = dim;
  r->max_values    = nvalues;
  PetscCallMPI(MPI_Comm_size(r->comm, &r->size));
  PetscCallMPI(MPI_Comm_rank(r->comm, &r->rank));
  r->left  = (r->rank + r->size - 1) % r->size;
  r->right = (r->rank + 1) % r->size;
  PetscCall(PetscMalloc2(r->size, &r->counts, r->size + 1, &r->starts));
  PetscCallMPI(MPI_Allgather(&local_count, 1, MPIU_INT, r->counts, 1, MPIU_INT, r->comm));
  r->starts[0] = 0;
  for (PetscMPIInt p = 0; p < r->size; p++) {
    r->starts[p + 1] = r->starts[p] + r->counts[p];
    max_count        = PetscMax(max_count, r->counts[p]);
  }
  for (int b = 0; b < 2; b++) PetscCall(PetscMalloc2(dim * max_count, &r->coordinates[b], nvalues * max_count, &r->values[b]));
  *ring = r;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_ring_get_layout(DSRing ring, PetscInt *start, PetscInt *global_count)
{
  PetscFunctionBeginUser;
  if (start) *start = ring->starts[ring->rank];
  if (global_count) *global_count = ring->starts[ring->size];
  PetscFunctionReturn(0);
}

PetscErrorCode ds_ring_pass(DSRing r, const DSBlock *points, DSRingVisitor visit, void *ctx, PetscInt nvalues, PetscReal *travelling)
{
  const PetscInt dim = r->dim, nacc = travelling ? nvalues : 0;
  PetscMPIInt    origin = r->rank;
  int            cur    = 0;

  PetscFunctionBeginUser;
  PetscCheck(nacc <= r->max_values, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "%" PetscInt_FMT " travelling values per point asked of a ring built for %" PetscInt_FMT, nacc, r->max_values);
  PetscCheck(points->n == r->counts[r->rank] && points->dim == dim, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "ring block of %" PetscInt_FMT " points of dimension %" PetscInt_FMT " given to a ring built for %" PetscInt_FMT " of dimension %" PetscInt_FMT, points->n, points->dim, r->counts[r->rank], dim);
  for (PetscInt c = 0; c < dim; c++) PetscCall(PetscArraycpy(r->coordinates[0] + c * points->n, points->x + c * points->ld, points->n));
  PetscCall(PetscArraycpy(r->values[0], travelling, nacc * points->n));

  for (PetscMPIInt step = 0; step < r->size; step++) {
    const PetscMPIInt next     = (origin + r->size - 1) % r->size; /* origin of the block arriving from the left */
    const PetscInt    n        = r->counts[origin];
    const PetscBool   shifting = r->size > 1 ? PETSC_TRUE : PETSC_FALSE;
    MPI_Request       requests[2];
    PetscMPIInt       send_count, recv_count;
    DSBlock           block = {n, dim, n, r->starts[origin], r->coordinates[cur], NULL};

    if (shifting && step < r->size - 1) {
      PetscCall(PetscMPIIntCast(n * dim, &send_count));
      PetscCall(PetscMPIIntCast(r->counts[next] * dim, &recv_count));
      PetscCallMPI(MPI_Irecv(r->coordinates[1 - cur], recv_count, MPIU_REAL, r->left, r->tag_coordinates, r->comm, &requests[0]));
      PetscCallMPI(MPI_Isend(r->coordinates[cur], send_count, MPIU_REAL, r->right, r->tag_coordinates, r->comm, &requests[1]));
    }
    PetscCall(PetscLogEventBegin(ds_events.ring_compute, 0, 0, 0, 0));
    PetscCall(visit(ctx, &block, nacc ? r->values[cur] : NULL));
    PetscCall(PetscLogEventEnd(ds_events.ring_compute, 0, 0, 0, 0));

    if (!shifting) break;
    PetscCall(PetscLogEventBegin(ds_events.ring_wait, 0, 0, 0, 0));
    if (nacc) {
      PetscCall(PetscMPIIntCast(n * nacc, &send_count));
      PetscCall(PetscMPIIntCast(r->counts[next] * nacc, &recv_count));
      PetscCallMPI(MPI_Sendrecv(r->values[cur], send_count, MPIU_REAL, r->right, r->tag_travelling, r->values[1 - cur], recv_count, MPIU_REAL, r->left, r->tag_travelling, r->comm, MPI_STATUS_IGNORE));
    }
    if (step < r->size - 1) PetscCallMPI(MPI_Waitall(2, requests, MPI_STATUSES_IGNORE));
    PetscCall(PetscLogEventEnd(ds_events.ring_wait, 0, 0, 0, 0));
    cur    = 1 - cur;
    origin = next;
  }
  /* After P shifts of the travelling values (none on one rank) the current buffer is this rank's own. */
  if (nacc) PetscCall(PetscArraycpy(travelling, r->values[cur], nacc * r->counts[r->rank]));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_ring_destroy(DSRing *ring)
{
  PetscFunctionBeginUser;
  if (!*ring) PetscFunctionReturn(0);
  for (int b = 0; b < 2; b++) PetscCall(PetscFree2((*ring)->coordinates[b], (*ring)->values[b]));
  PetscCall(PetscFree2((*ring)->counts, (*ring)->starts));
  PetscCall(PetscCommDestroy(&(*ring)->comm));
  PetscCall(PetscFree(*ring));
  PetscFunctionReturn(0);
}

/* Ring engine: P - 1 shifts of a coordinate block to the right neighbour with
   MPI_Isend/MPI_Irecv posted before the current block is worked on, so the transfer of
   the next block overlaps the work on this one. Travelling values may be updated by the
   work, so they follow after it, one small message per step; the last of these brings
   each block's values back to its owner. The symmetric pass (pairs of points computed
   once, for both) stops halfway round, after floor(P/2) shifts, and sends the travelling
   values straight home.

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

/* The work of one step of a pass: the visitor of a full pass, or the pair visitor of a
   symmetric one with the pairs of that step. */
typedef struct {
  DSRingVisitor     visit;
  DSRingPairVisitor visit_pairs;
  void             *ctx;
} Work;

/* The pairs the home block computes with the block of rank `origin` arriving at `step` of
   a symmetric pass over `size` ranks: its own triangle at step 0; every pair before the
   middle; at the middle step of an even ring, where the two ranks hold each other's block,
   half each: the rank whose block comes first takes the first half of its own rows against
   the whole visiting block, the other its whole block against the visiting block's second
   half (the rows it did not take). */
static DSRingPairs step_pairs(PetscMPIInt step, PetscMPIInt size, PetscMPIInt rank, PetscMPIInt origin, PetscInt home_n, PetscInt visiting_n)
{
  DSRingPairs pairs = {step == 0 ? PETSC_TRUE : PETSC_FALSE, {0, home_n}, {0, visiting_n}};

  if (step > 0 && 2 * step == size) {
    if (rank < origin) pairs.home[1] = home_n / 2;
    else pairs.visiting[0] = visiting_n / 2;
  }
  return pairs;
}

/* `steps` steps of the ring (1 to P): at step t this rank works on the block of rank
   rank - t, which then moves one rank right, and after the last step the travelling values
   go straight back to their owner (from rank origin + steps - 1). */
static PetscErrorCode circulate(DSRing r, const DSBlock *points, PetscMPIInt steps, const Work *work, PetscInt nvalues, PetscReal *travelling)
{
  const PetscInt dim = r->dim, nacc = travelling ? nvalues : 0;
  PetscMPIInt    origin = r->rank;
  int            cur    = 0;

  PetscFunctionBeginUser;
  PetscCheck(nacc <= r->max_values, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "%" PetscInt_FMT " travelling values per point asked of a ring built for %" PetscInt_FMT, nacc, r->max_values);
  PetscCheck(points->n == r->counts[r->rank] && points->dim == dim, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "ring block of %" PetscInt_FMT " points of dimension %" PetscInt_FMT " given to a ring built for %" PetscInt_FMT " of dimension %" PetscInt_FMT, points->n, points->dim, r->counts[r->rank], dim);
  for (PetscInt c = 0; c < dim; c++) PetscCall(PetscArraycpy(r->coordinates[0] + c * points->n, points->x + c * points->ld, points->n));
  PetscCall(PetscArraycpy(r->values[0], travelling, nacc * points->n));

  for (PetscMPIInt step = 0; step < steps; step++) {
    const PetscMPIInt next     = (origin + r->size - 1) % r->size; /* origin of the block arriving from the left */
    const PetscInt    n        = r->counts[origin];
    const PetscBool   shifting = r->size > 1 ? PETSC_TRUE : PETSC_FALSE, last = step == steps - 1 ? PETSC_TRUE : PETSC_FALSE;
    MPI_Request       requests[2];
    PetscMPIInt       send_count, recv_count;
    DSBlock           block = {n, dim, n, r->starts[origin], r->coordinates[cur], NULL};

    if (shifting && !last) {
      PetscCall(PetscMPIIntCast(n * dim, &send_count));
      PetscCall(PetscMPIIntCast(r->counts[next] * dim, &recv_count));
      PetscCallMPI(MPI_Irecv(r->coordinates[1 - cur], recv_count, MPIU_REAL, r->left, r->tag_coordinates, r->comm, &requests[0]));
      PetscCallMPI(MPI_Isend(r->coordinates[cur], send_count, MPIU_REAL, r->right, r->tag_coordinates, r->comm, &requests[1]));
    }
    PetscCall(PetscLogEventBegin(ds_events.ring_compute, 0, 0, 0, 0));
    if (work->visit) PetscCall(work->visit(work->ctx, &block, nacc ? r->values[cur] : NULL));
    else {
      const DSRingPairs pairs = step_pairs(step, r->size, r->rank, origin, points->n, n);
      PetscCall(work->visit_pairs(work->ctx, &block, nacc ? r->values[cur] : NULL, &pairs));
    }
    PetscCall(PetscLogEventEnd(ds_events.ring_compute, 0, 0, 0, 0));

    if (!shifting) break;
    PetscCall(PetscLogEventBegin(ds_events.ring_wait, 0, 0, 0, 0));
    if (nacc) { /* one rank on, or after the last step straight home (this rank's own from the rank holding them) */
      const PetscMPIInt holder = (r->rank + steps - 1) % r->size;
      PetscCall(PetscMPIIntCast(n * nacc, &send_count));
      PetscCall(PetscMPIIntCast(r->counts[last ? r->rank : next] * nacc, &recv_count));
      PetscCallMPI(MPI_Sendrecv(r->values[cur], send_count, MPIU_REAL, last ? origin : r->right, r->tag_travelling, r->values[1 - cur], recv_count, MPIU_REAL, last ? holder : r->left, r->tag_travelling, r->comm, MPI_STATUS_IGNORE));
    }
    if (!last) PetscCallMPI(MPI_Waitall(2, requests, MPI_STATUSES_IGNORE));
    PetscCall(PetscLogEventEnd(ds_events.ring_wait, 0, 0, 0, 0));
    cur    = 1 - cur;
    origin = next;
  }
  /* The travelling values are home: in the current buffer (none moved on one rank). */
  if (nacc) PetscCall(PetscArraycpy(travelling, r->values[cur], nacc * r->counts[r->rank]));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_ring_pass(DSRing r, const DSBlock *points, DSRingVisitor visit, void *ctx, PetscInt nvalues, PetscReal *travelling)
{
  const Work work = {visit, NULL, ctx};

  PetscFunctionBeginUser;
  PetscCall(circulate(r, points, r->size, &work, nvalues, travelling));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_ring_pass_symmetric(DSRing r, const DSBlock *points, DSRingPairVisitor visit, void *ctx, PetscInt nvalues, PetscReal *travelling)
{
  const Work work = {NULL, visit, ctx};

  PetscFunctionBeginUser;
  PetscCall(circulate(r, points, r->size / 2 + 1, &work, nvalues, travelling));
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

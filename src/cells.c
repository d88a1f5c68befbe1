/* Cell lists (DESIGN.md: cutoff): a source block sorted by a counting sort into cells no
   smaller than the cutoff radius, so that each query sums only over the 3^(d-1) rows of
   neighbouring cells, each a contiguous range of the sorted block. The sums over them,
   ds_kernel_sums_cells, run the fused micro-kernel's loop (kernels.c, one per ISA level). */
#include "kernels_isa.h"

PetscErrorCode ds_cells_build(const DSBlock *s, PetscReal radius, DSCells *c)
{
  const PetscInt d = s->dim, n = s->n;
  PetscReal      lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  PetscInt       cells = 1;

  PetscFunctionBeginUser;
  PetscCheck(d >= 1 && d <= 3, PETSC_COMM_SELF, PETSC_ERR_SUP, "cell lists are for dimensions 1 to 3, not %" PetscInt_FMT, d);
  for (PetscInt k = 0; k < d; k++) {
    lo[k] = PETSC_MAX_REAL;
    hi[k] = -PETSC_MAX_REAL;
    for (PetscInt j = 0; j < n; j++) lo[k] = PetscMin(lo[k], s->x[k * s->ld + j]), hi[k] = PetscMax(hi[k], s->x[k * s->ld + j]);
  }
  /* Cells of side at least the radius, doubled until there are at most 4 per point. */
  c->cell = radius;
  do {
    cells = 1;
    for (PetscInt k = 0; k < d; k++) {
      const PetscReal along = n ? floor((hi[k] - lo[k]) / c->cell) : 1;
      c->count[k]           = along < 1 ? 1 : (PetscInt)PetscMin(along, 1 << 20);
      cells *= c->count[k];
    }
    if (cells > PetscMax(4 * n, 64)) c->cell *= 2;
  } while (cells > PetscMax(4 * n, 64));
  for (PetscInt k = 0; k < 3; k++) c->origin[k] = k < d ? lo[k] : 0, c->count[k] = k < d ? c->count[k] : 1;
  c->n     = n;
  c->dim   = d;
  c->start = s->start;
  if (n > c->capacity) {
    PetscCall(PetscFree2(c->x, c->position));
    c->capacity = n;
    PetscCall(PetscMalloc2(d * n, &c->x, n, &c->position));
  }
  if (cells + 1 > c->cell_capacity) {
    PetscCall(PetscFree(c->first));
    c->cell_capacity = cells + 1;
    PetscCall(PetscMalloc1(cells + 1, &c->first));
  }
  /* Counting sort by cell: count, prefix sums, place (advancing first[]), shift back. */
  PetscCall(PetscArrayzero(c->first, cells + 1));
  for (PetscInt j = 0; j < n; j++) {
    PetscInt id = 0;
    for (PetscInt k = d - 1; k >= 0; k--) id = id * c->count[k] + ds_cell_index(c, (int)k, s->x[k * s->ld + j]);
    c->position[j] = id;
    c->first[id + 1]++;
  }
  for (PetscInt id = 0; id < cells; id++) c->first[id + 1] += c->first[id];
  for (PetscInt j = 0; j < n; j++) {
    const PetscInt at = c->first[c->position[j]]++;
    c->position[j]    = at;
    for (PetscInt k = 0; k < d; k++) c->x[k * n + at] = s->x[k * s->ld + j];
  }
  for (PetscInt id = cells; id > 0; id--) c->first[id] = c->first[id - 1];
  c->first[0] = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_cells_destroy(DSCells *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(c->x, c->position));
  PetscCall(PetscFree(c->first));
  c->capacity = c->cell_capacity = 0;
  PetscFunctionReturn(0);
}

PetscBool ds_kernel_cells_apply(const DSKernel *kernel, DSWeight weight, const DSBlock *source, const DSKernelSums *sums)
{
  return kernel->type != DS_KERNEL_IMQ && ds_fused_moment_scale(kernel, weight) != 0 && !source->weight && !ds_kernel_sums_extended(sums) && source->dim <= 3 ? PETSC_TRUE : PETSC_FALSE;
}

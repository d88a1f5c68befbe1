/* Cell lists (DESIGN.md: cutoff): a source block sorted by a counting sort into cells no
   smaller than the cutoff radius, so that each query sums only over the 3^(d-1) rows of
   neighbouring cells, each a contiguous range of the sorted block, with the fused
   micro-kernel's loop of kernels.c (kernels_vector.h). */
#include "kernels_vector.h"

/* Index of coordinate value x along axis k of the grid, clamped to the grid: points past
   an edge belong to the edge cell, which is as wide as the others or wider. */
static inline PetscInt cell_index(const DSCells *c, int k, PetscReal x)
{
  const PetscReal f = floor((x - c->origin[k]) / c->cell);
  return f < 0 ? 0 : f >= c->count[k] ? c->count[k] - 1 : (PetscInt)f;
}

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
    for (PetscInt k = d - 1; k >= 0; k--) id = id * c->count[k] + cell_index(c, (int)k, s->x[k * s->ld + j]);
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

/* The fused sums of each query over the rows of cells neighbouring its own (3^(D-1) rows of
   up to 3 cells, each a contiguous range of the sorted block), around its own point. */
INLINE void cells_sums(DSKernelType type, int D, const DSKernel *K, const DSBlock *q, const DSCells *c, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  const vreal     a_units    = splat(EXP2_UNITS * K->log2_scale);
  const DSBlock   sorted = {c->n, D, c->n, 0, c->x, NULL};

  for (PetscInt i = 0; i < q->n; i++) {
    PetscReal       z[3] = {0, 0, 0}, value = 0, moment[3] = {0, 0, 0};
    for (int k = 0; k < D; k++) z[k] = q->x[k * q->ld + i];
    const PetscInt  own = q->start + i - c->start;
    const PetscInt  self = exclude && own >= 0 && own < c->n ? c->position[own] : -1;
    const PetscInt  cx = cell_index(c, 0, z[0]), cy = D > 1 ? cell_index(c, 1, z[1]) : 0, cz = D > 2 ? cell_index(c, 2, z[2]) : 0;
    for (PetscInt iz = PetscMax(cz - 1, 0); iz <= PetscMin(cz + 1, c->count[2] - 1); iz++)
      for (PetscInt iy = PetscMax(cy - 1, 0); iy <= PetscMin(cy + 1, c->count[1] - 1); iy++) {
        const PetscInt row = (iz * c->count[1] + iy) * c->count[0];
        const PetscInt j0 = c->first[row + PetscMax(cx - 1, 0)], j1 = c->first[row + PetscMin(cx + 1, c->count[0] - 1) + 1];
        fused_range(type, D, a_units, &sorted, j0, j1, self, z, &value, moment);
      }
    add_query_sums(acc, i, D, moment_scale, value, moment);
  }
}

PetscBool ds_kernel_cells_apply(const DSKernel *kernel, DSWeight weight, const DSBlock *source, const DSKernelSums *sums)
{
  return fused_moment_scale(kernel, weight) != 0 && !source->weight && !ds_kernel_sums_extended(sums) && source->dim <= 3 ? PETSC_TRUE : PETSC_FALSE;
}

/* cells_sums for one kernel type, d = 1 to 3. */
INLINE void cells_sums_for(DSKernelType type, const DSKernel *K, const DSBlock *q, const DSCells *c, PetscBool exclude, PetscReal moment_scale, DSKernelSums *acc)
{
  switch (q->dim) {
  case 1: cells_sums(type, 1, K, q, c, exclude, moment_scale, acc); break;
  case 2: cells_sums(type, 2, K, q, c, exclude, moment_scale, acc); break;
  case 3: cells_sums(type, 3, K, q, c, exclude, moment_scale, acc); break;
  }
}

void ds_kernel_sums_cells(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSCells *cells, PetscBool exclude_same_index, DSKernelSums *sums)
{
  const PetscReal scale = fused_moment_scale(kernel, weight);

  if (kernel->type == DS_KERNEL_GAUSSIAN) cells_sums_for(DS_KERNEL_GAUSSIAN, kernel, query, cells, exclude_same_index, scale, sums);
  else cells_sums_for(DS_KERNEL_LAPLACE, kernel, query, cells, exclude_same_index, scale, sums);
}

/* Kernel table and the pair micro-kernels (DESIGN.md: kernel table). Every micro-kernel
   walks the source block in tiles: squared distances for a tile (unit-stride loops over
   the tile for each coordinate), then kernel values and weights for the tile, then the
   tile's contribution to each accumulator. No branch depends on the pair. */
#include <math.h>
#include "ds_kernels.h"

#define TILE 256

void ds_kernel_setup(DSKernelType type, PetscReal h, PetscReal beta, DSKernel *kernel)
{
  kernel->type   = type;
  kernel->h      = h;
  kernel->beta   = beta;
  kernel->inv_h  = 1.0 / h;
  kernel->inv_h2 = 1.0 / (h * h);
}

PetscReal ds_kernel_value(const DSKernel *kernel, PetscReal r)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: return exp(-0.5 * r * r * kernel->inv_h2);
  case DS_KERNEL_LAPLACE: return exp(-r * kernel->inv_h);
  case DS_KERNEL_IMQ: return pow(1.0 + r * r * kernel->inv_h2, -kernel->beta);
  }
  return NAN;
}

PetscReal ds_kernel_gradient_factor(const DSKernel *kernel, PetscReal r)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: return -ds_kernel_value(kernel, r) * kernel->inv_h2;
  case DS_KERNEL_LAPLACE: return r > 0 ? -ds_kernel_value(kernel, r) * kernel->inv_h / r : 0.0;
  case DS_KERNEL_IMQ: return -2.0 * kernel->beta * kernel->inv_h2 * pow(1.0 + r * r * kernel->inv_h2, -kernel->beta - 1.0);
  }
  return NAN;
}

/* Squared distances r2[j] = |z_i - s_{j0 + j}|^2 for the nt points of a tile. */
static inline __attribute__((always_inline)) void tile_distances(const DSBlock *q, PetscInt i, const DSBlock *s, PetscInt j0, PetscInt nt, PetscReal *restrict r2)
{
  for (PetscInt j = 0; j < nt; j++) r2[j] = 0;
  for (PetscInt c = 0; c < q->dim; c++) {
    const PetscReal  zc = q->x[c * q->ld + i];
    const PetscReal *sc = s->x + c * s->ld + j0;
    for (PetscInt j = 0; j < nt; j++) {
      PetscReal diff = zc - sc[j];
      r2[j] += diff * diff;
    }
  }
}

/* Kernel values k and pair weights f of a tile from its squared distances r2. */
static inline __attribute__((always_inline)) void tile_weights(DSKernelType type, DSWeight weight, const DSKernel *K, PetscInt n, const PetscReal *restrict r2, PetscReal *restrict k, PetscReal *restrict f)
{
  switch (type) {
  case DS_KERNEL_GAUSSIAN:
    for (PetscInt j = 0; j < n; j++) k[j] = exp(-0.5 * K->inv_h2 * r2[j]);
    if (weight == DS_WEIGHT_GRADIENT)
      for (PetscInt j = 0; j < n; j++) f[j] = -K->inv_h2 * k[j];
    break;
  case DS_KERNEL_LAPLACE:
    for (PetscInt j = 0; j < n; j++) k[j] = exp(-K->inv_h * sqrt(r2[j]));
    if (weight == DS_WEIGHT_GRADIENT)
      for (PetscInt j = 0; j < n; j++) {
        PetscReal r = sqrt(r2[j]);
        f[j]        = r > 0 ? -K->inv_h * k[j] / r : 0.0;
      }
    break;
  case DS_KERNEL_IMQ:
    for (PetscInt j = 0; j < n; j++) {
      PetscReal base = 1.0 + K->inv_h2 * r2[j];
      k[j]           = pow(base, -K->beta);
      if (weight == DS_WEIGHT_GRADIENT) f[j] = -2.0 * K->beta * K->inv_h2 * k[j] / base;
    }
    break;
  }
  if (weight == DS_WEIGHT_VALUE)
    for (PetscInt j = 0; j < n; j++) f[j] = k[j];
}

/* Index within the source tile starting at j0 of query i's own point, or -1. */
static inline PetscInt self_in_tile(const DSBlock *q, PetscInt i, const DSBlock *s, PetscBool exclude, PetscInt j0, PetscInt nt)
{
  const PetscInt j = q->start + i - s->start - j0;
  return exclude && j >= 0 && j < nt ? j : -1;
}

/* The sums micro-kernel for one (kernel, weight) pair; specialised by the constant arguments. */
static inline __attribute__((always_inline)) void sums_for(DSKernelType type, DSWeight weight, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, DSKernelSums *acc)
{
  const PetscInt dim = q->dim;
  PetscReal      r2[TILE], k[TILE], f[TILE];

  for (PetscInt i = 0; i < q->n; i++) {
    PetscReal value = 0, companion = 0;

    for (PetscInt j0 = 0; j0 < s->n; j0 += TILE) {
      const PetscInt nt   = PetscMin(TILE, s->n - j0);
      const PetscInt self = self_in_tile(q, i, s, exclude, j0, nt);
      tile_distances(q, i, s, j0, nt, r2);
      tile_weights(type, weight, K, nt, r2, k, f);
      if (self >= 0) k[self] = f[self] = 0;
      if (acc->companion)
        for (PetscInt j = 0; j < nt; j++) companion += (K->h + sqrt(r2[j])) * k[j] * (s->weight ? s->weight[j0 + j] : 1.0);
      if (s->weight)
        for (PetscInt j = 0; j < nt; j++) {
          k[j] *= s->weight[j0 + j];
          f[j] *= s->weight[j0 + j];
        }
      for (PetscInt j = 0; j < nt; j++) value += k[j];
      for (PetscInt c = 0; c < dim; c++) {
        const PetscReal  zc = q->x[c * q->ld + i];
        const PetscReal *sc = s->x + c * s->ld + j0;
        PetscReal        m  = 0;
        for (PetscInt j = 0; j < nt; j++) m += f[j] * (zc - sc[j]);
        acc->moment[c * acc->ld + i] += m;
      }
    }
    acc->value[i] += value;
    if (acc->companion) acc->companion[i] += companion;
  }
}

void ds_kernel_sums(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, DSKernelSums *sums)
{
#define DS_DISPATCH_WEIGHT(TYPE) \
  (weight == DS_WEIGHT_VALUE ? sums_for(TYPE, DS_WEIGHT_VALUE, kernel, query, source, exclude_same_index, sums) \
                             : sums_for(TYPE, DS_WEIGHT_GRADIENT, kernel, query, source, exclude_same_index, sums))
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: DS_DISPATCH_WEIGHT(DS_KERNEL_GAUSSIAN); break;
  case DS_KERNEL_LAPLACE: DS_DISPATCH_WEIGHT(DS_KERNEL_LAPLACE); break;
  case DS_KERNEL_IMQ: DS_DISPATCH_WEIGHT(DS_KERNEL_IMQ); break;
  }
#undef DS_DISPATCH_WEIGHT
}

/* Row and column sums for one kernel; specialised by the constant kernel type. */
static inline __attribute__((always_inline)) void row_column_for(DSKernelType type, const DSKernel *K, const DSBlock *q, const DSBlock *s, PetscBool exclude, PetscReal *row, PetscReal *column)
{
  PetscReal r2[TILE], k[TILE], f[TILE];

  for (PetscInt i = 0; i < q->n; i++) {
    PetscReal sum = 0;
    for (PetscInt j0 = 0; j0 < s->n; j0 += TILE) {
      const PetscInt nt   = PetscMin(TILE, s->n - j0);
      const PetscInt self = self_in_tile(q, i, s, exclude, j0, nt);
      tile_distances(q, i, s, j0, nt, r2);
      tile_weights(type, DS_WEIGHT_VALUE, K, nt, r2, k, f);
      if (self >= 0) k[self] = 0;
      for (PetscInt j = 0; j < nt; j++) {
        sum += k[j];
        column[j0 + j] += k[j];
      }
    }
    row[i] += sum;
  }
}

void ds_kernel_row_column_sums(const DSKernel *kernel, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, PetscReal *row, PetscReal *column)
{
  switch (kernel->type) {
  case DS_KERNEL_GAUSSIAN: row_column_for(DS_KERNEL_GAUSSIAN, kernel, query, source, exclude_same_index, row, column); break;
  case DS_KERNEL_LAPLACE: row_column_for(DS_KERNEL_LAPLACE, kernel, query, source, exclude_same_index, row, column); break;
  case DS_KERNEL_IMQ: row_column_for(DS_KERNEL_IMQ, kernel, query, source, exclude_same_index, row, column); break;
  }
}

PetscReal ds_kernel_distance_sum(const DSBlock *query, const DSBlock *source)
{
  PetscReal r2[TILE], sum = 0;

  for (PetscInt i = 0; i < query->n; i++)
    for (PetscInt j0 = 0; j0 < source->n; j0 += TILE) {
      const PetscInt nt = PetscMin(TILE, source->n - j0);
      tile_distances(query, i, source, j0, nt, r2);
      for (PetscInt j = 0; j < nt; j++) sum += sqrt(r2[j]);
    }
  return sum;
}

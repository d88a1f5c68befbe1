/* A block of points in structure-of-arrays layout: the unit of work of the pair
   micro-kernels (kernels.c) and what the ring engine circulates (ring.c). */
#ifndef DS_BLOCK_H
#define DS_BLOCK_H

#include <petscsys.h>

/* Points in structure-of-arrays layout: coordinate k of point i is x[k * ld + i].
   start is the global index of point 0 (particles: the particle index). As a source of
   kernel sums, point j's contributions are multiplied by weight[j] (NULL: weight 1). */
typedef struct {
  PetscInt         n;
  PetscInt         dim;
  PetscInt         ld;
  PetscInt         start;
  const PetscReal *x;
  const PetscReal *weight;
} DSBlock;

/* Copies n points from rows [n][dim] (a particle Vec's layout) to the structure of arrays
   soa[dim][n] of a DSBlock with ld = n. */
static inline void ds_rows_to_soa(PetscInt n, PetscInt dim, const PetscReal *rows, PetscReal *soa)
{
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt c = 0; c < dim; c++) soa[c * n + i] = rows[i * dim + c];
}

#endif

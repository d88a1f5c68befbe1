/* What the micro-kernel files compiled once per ISA level (kernels.c, kernels_floor.c,
   kernels_lse.c: the Makefile's KERNEL_SOURCES) share with the files compiled once (cells.c,
   kernel_table.c) and with the dispatch (isa.c): the list of the entry points each level
   provides, the suffix a level's compilation gives them, and the scalar helpers both sides
   use. */
#ifndef DS_KERNELS_ISA_H
#define DS_KERNELS_ISA_H

#include "ds_kernels.h"
#include "ds_kernels_floor.h"
#include "ds_kernels_lse.h"

/* The entry points of one ISA level, X(return type, public name, parameters, arguments):
   each public function of ds_kernels*.h that runs a pair loop (or the micro-kernels'
   exponential). A level's compilation defines them as NAME_LEVEL (DS_ISA_ENTRY); isa.c
   defines NAME, which calls the selected level's. Those returning nothing, then those
   returning a value. */
#define DS_KERNEL_VOID_ENTRIES(X) \
  X(void, ds_kernel_sums, (const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, DSKernelSums *sums), (kernel, weight, query, source, exclude_same_index, sums)) \
  X(void, ds_kernel_sums_symmetric, (const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool diagonal, PetscBool exclude_self, DSKernelSums *sums, DSKernelSums *partner), \
    (kernel, weight, query, source, diagonal, exclude_self, sums, partner)) \
  X(void, ds_kernel_sums_cells, (const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSCells *cells, PetscBool exclude_same_index, DSKernelSums *sums), (kernel, weight, query, cells, exclude_same_index, sums)) \
  X(void, ds_kernel_row_column_sums, (const DSKernel *kernel, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, PetscReal *row, PetscReal *column), (kernel, query, source, exclude_same_index, row, column)) \
  X(void, ds_kernel_floor_row_column_sums, (const DSKernel *kernel, const DSFloorRule *rule, const DSBlock *query, const DSBlock *source, PetscBool self_pairs, PetscReal *row, PetscReal *column), (kernel, rule, query, source, self_pairs, row, column)) \
  X(void, ds_kernel_floor_sums, (const DSKernel *kernel, const DSFloorRule *rule, const DSBlock *query, const PetscReal *row_sums, const DSBlock *source, const PetscReal *column_sums, const PetscReal *column_weights, PetscBool self_pairs, DSFloorSums *sums), (kernel, rule, query, row_sums, source, column_sums, column_weights, self_pairs, sums)) \
  X(void, ds_kernel_lse_sums, (DSSinkhornCost cost, PetscReal epsilon, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, DSLseSums *sums), (cost, epsilon, query, source, exclude_same_index, sums))
#define DS_KERNEL_VALUE_ENTRIES(X) \
  X(double, ds_exp2_nonpositive, (double y), (y)) \
  X(PetscReal, ds_kernel_value, (const DSKernel *kernel, PetscReal r), (kernel, r)) \
  X(PetscReal, ds_kernel_distance_sum, (const DSBlock *query, const DSBlock *source), (query, source)) \
  X(PetscReal, ds_kernel_floor_distance_sum, (const DSBlock *query, const DSBlock *source, PetscReal min_r2), (query, source, min_r2))

#define DS_ISA_PASTE(name, level)  name##_##level
#define DS_ISA_NAME(name, level)   DS_ISA_PASTE(name, level)
/* In a level's compilation (-DDS_ISA=avx2), an entry point's own name: ds_kernel_sums_avx2. */
#define DS_ISA_ENTRY(name)         DS_ISA_NAME(name, DS_ISA)

#ifdef DS_ISA
/* This level's entry points. */
  #define DS_ISA_ENTRY_DECLARATION(ret, name, params, args) ret DS_ISA_ENTRY(name) params;
DS_KERNEL_VOID_ENTRIES(DS_ISA_ENTRY_DECLARATION)
DS_KERNEL_VALUE_ENTRIES(DS_ISA_ENTRY_DECLARATION)
  #undef DS_ISA_ENTRY_DECLARATION
#endif

/* Whether the fused and wide micro-kernels weight a pair's moment by k / x, x = 1 + r^2/h^2,
   rather than by k: the imq gradient, whose factor -2 beta/h^2 x^(-beta - 1) is k / x
   times a constant. */
static inline PetscBool ds_fused_moment_divided(const DSKernel *K, DSWeight weight)
{
  return K->type == DS_KERNEL_IMQ && weight == DS_WEIGHT_GRADIENT ? PETSC_TRUE : PETSC_FALSE;
}

/* The factor the fused and wide micro-kernels apply at the end to their sums k (z - s), or
   (k / x) (z - s) (ds_fused_moment_divided): -1/h^2 for the gaussian gradient, -2 beta/h^2
   for the imq gradient, 1 for value weights; 0 where they do not apply (the laplace
   gradient, whose factor k / (h r) is not smooth at r = 0 and which no field uses). */
static inline PetscReal ds_fused_moment_scale(const DSKernel *K, DSWeight weight)
{
  if (weight == DS_WEIGHT_VALUE) return 1.0;
  return K->type == DS_KERNEL_GAUSSIAN ? -K->inv_h2 : K->type == DS_KERNEL_IMQ ? -2.0 * K->beta * K->inv_h2 : 0.0;
}

/* Index of coordinate value x along axis k of the cell grid, clamped to the grid: points
   past an edge belong to the edge cell, which is as wide as the others or wider. */
static inline PetscInt ds_cell_index(const DSCells *c, int k, PetscReal x)
{
  const PetscReal f = floor((x - c->origin[k]) / c->cell);
  return f < 0 ? 0 : f >= c->count[k] ? c->count[k] - 1 : (PetscInt)f;
}

#endif

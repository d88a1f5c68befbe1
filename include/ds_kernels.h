/* Radial kernels of SCIENCE.md (gaussian, laplace, imq) and the block micro-kernel that
   accumulates kernel sums of query points against a block of source points. All pair
   loops of driftsim live in kernels.c and, for the cell lists, cells.c. */
#ifndef DS_KERNELS_H
#define DS_KERNELS_H

#include <petscsys.h>
#include "ds_options.h"
#include "ds_block.h"

typedef struct {
  DSKernelType type;
  PetscReal    h;      /* bandwidth */
  PetscReal    beta;   /* imq exponent */
  PetscReal    inv_h;  /* 1 / h */
  PetscReal    inv_h2; /* 1 / h^2 */
  PetscReal    log2_scale; /* k = 2^(log2_scale r^2) (gaussian) or 2^(log2_scale r) (laplace); NAN for imq */
  int          imq_halves; /* imq: 2 beta when it is an integer from 1 to 4 (the pair loops' square-root path), else 0 (pow) */
} DSKernel;

/* What each pair (z_i, s_j) contributes: f = k (value-weighted, for kernel-weighted means)
   or f = g, the gradient factor with grad_z k(z, s) = g (z - s) (for KDE gradients). */
typedef enum { DS_WEIGHT_VALUE, DS_WEIGHT_GRADIENT } DSWeight;

/* Per-query accumulators, with w_j the source weights: value[i] = sum_j w_j k_ij and
   moment[c * ld + i] = sum_j w_j f_ij (z_ic - s_jc). Relative to the query point, so
   moment / value is free of cancellation: it is z - m_S(z) for DS_WEIGHT_VALUE and
   grad log sum_j k(z, s_j) for DS_WEIGHT_GRADIENT; with moment NULL only the values are
   summed. companion[i] = sum_j w_j l_ij with the companion l(r) = (h + r) k(r) of the
   laplace kernel, and second[i] = sum_j w_j k_ij |z_i - s_j|^2 (the gaussian KDE's
   Laplacian needs it), each accumulated only when not NULL. Whether moments are asked for
   does not change the values, bit for bit. */
typedef struct {
  PetscInt   ld;
  PetscReal *value;
  PetscReal *moment;
  PetscReal *companion;
  PetscReal *second;
} DSKernelSums;

/* Whether the sums ask for more than values and moments (companion or second moment), which
   only the tiled micro-kernel accumulates. */
static inline PetscBool ds_kernel_sums_extended(const DSKernelSums *sums)
{
  return (sums->companion || sums->second) ? PETSC_TRUE : PETSC_FALSE;
}

/* 2^y for finite y <= 0, the exponential of every gaussian and laplace kernel value; 0
   for y < -1021 - 1/32 (2^y < 1.96 DBL_MIN): kernel values are never subnormal. */
PETSC_EXTERN double ds_exp2_nonpositive(double y);

/* Fills a kernel description for bandwidth h (and exponent beta for imq). */
PETSC_EXTERN void ds_kernel_setup(DSKernelType type, PetscReal h, PetscReal beta, DSKernel *kernel);

/* k(r) of SCIENCE.md's kernel table. */
PETSC_EXTERN PetscReal ds_kernel_value(const DSKernel *kernel, PetscReal r);

/* g(r) with grad_z k(z, w) = g(r) (z - w), r = |z - w|; laplace gives 0 at r = 0. */
PETSC_EXTERN PetscReal ds_kernel_gradient_factor(const DSKernel *kernel, PetscReal r);

/* Adds to `sums` the kernel sums of every query point against every source point.
   With exclude_same_index, pairs whose global indices agree (query->start + i ==
   source->start + j: the self pair of a particle) contribute nothing. */
PETSC_EXTERN void ds_kernel_sums(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, DSKernelSums *sums);

/* Whether ds_kernel_sums_symmetric can serve these sums: a gaussian or imq kernel, or a
   laplace kernel with value weights; dimension 1 to 3; values and moments only; the
   sources unweighted. */
PETSC_EXTERN PetscBool ds_kernel_symmetric_apply(const DSKernel *kernel, DSWeight weight, PetscInt dim, const DSKernelSums *sums);

/* The symmetric micro-kernel: each pair's kernel value computed once and added to both
   points: ds_kernel_sums of `query` against `source` into `sums`, and of `source` against
   `query` into `partner` (moments of the same weight, so the partner's are the pair's with
   the opposite sign). On the diagonal (query and source the same points) only the pairs
   i < j are computed, and the self pair adds k(0) = 1 to the value unless exclude_self.
   Only where ds_kernel_symmetric_apply holds. */
PETSC_EXTERN void ds_kernel_sums_symmetric(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSBlock *source, PetscBool diagonal, PetscBool exclude_self, DSKernelSums *sums, DSKernelSums *partner);

/* A source block sorted into cells of a grid (cell lists), for sums over the neighbouring
   cells only: cells are no smaller than the cutoff radius, and ordered row by row, so the
   3^(d-1) rows of neighbouring cells are contiguous ranges of the sorted block. */
typedef struct {
  PetscInt   n, dim;
  PetscInt   start;            /* global index of the source block's first point */
  PetscReal  origin[3], cell;  /* lower corner of the grid and the cell side */
  PetscInt   count[3];         /* cells along each coordinate */
  PetscReal *x;                /* [dim][n] the points in cell order */
  PetscInt  *position;         /* [n] the sorted position of the block's point j */
  PetscInt  *first;            /* [cells + 1] where each cell's points begin */
  PetscInt   capacity, cell_capacity;
} DSCells;

/* The distance beyond which the kernel is below eps times its peak: h sqrt(2 ln(1/eps))
   for the gaussian, h ln(1/eps) for the laplace kernel; infinite for imq. */
PETSC_EXTERN PetscReal ds_kernel_cutoff_radius(const DSKernel *kernel, PetscReal eps);

/* Sorts a source block of dimension 1 to 3 into cells of side at least `radius` (fewer
   cells when the block is spread thin), reusing the arrays of `cells`. */
PETSC_EXTERN PetscErrorCode ds_cells_build(const DSBlock *source, PetscReal radius, DSCells *cells);

/* Frees the arrays of `cells`. */
PETSC_EXTERN PetscErrorCode ds_cells_destroy(DSCells *cells);

/* Whether ds_kernel_sums_cells can serve these sums: a gaussian kernel, or a laplace kernel
   with value weights; unweighted sources of dimension 1 to 3; no companion sums. */
PETSC_EXTERN PetscBool ds_kernel_cells_apply(const DSKernel *kernel, DSWeight weight, const DSBlock *source, const DSKernelSums *sums);

/* ds_kernel_sums over the pairs whose source lies in a cell neighbouring the query's cell:
   every omitted pair has k < eps k(0) for the eps the cells were built for. Only where
   ds_kernel_cells_apply holds (ds_kernel_sums otherwise). */
PETSC_EXTERN void ds_kernel_sums_cells(const DSKernel *kernel, DSWeight weight, const DSBlock *query, const DSCells *cells, PetscBool exclude_same_index, DSKernelSums *sums);

/* Adds the kernel matrix's row sums row[i] += sum_j k_ij and column sums
   column[j] += sum_i k_ij of a query block against a source block (self pairs excluded
   as in ds_kernel_sums; source weights ignored). */
PETSC_EXTERN void ds_kernel_row_column_sums(const DSKernel *kernel, const DSBlock *query, const DSBlock *source, PetscBool exclude_same_index, PetscReal *row, PetscReal *column);

/* sum_i sum_j |z_i - s_j| over a query and a source block. */
PETSC_EXTERN PetscReal ds_kernel_distance_sum(const DSBlock *query, const DSBlock *source);

/* Z = integral of k over R^dim, so that K_h = k / Z is the normalised kernel: gaussian
   (2 pi h^2)^(d/2), laplace h^d 2 pi^(d/2) Gamma(d) / Gamma(d/2), imq
   h^d pi^(d/2) Gamma(beta - d/2) / Gamma(beta); INFINITY when k is not integrable (imq with
   2 beta <= d). */
PETSC_EXTERN PetscReal ds_kernel_normalisation(const DSKernel *kernel, PetscInt dim);

/* Laplacian of the unnormalised kernel at r = 0 in dim dimensions: gaussian -d / h^2,
   imq -2 beta d / h^2; NAN for laplace (not differentiable at 0). */
PETSC_EXTERN PetscReal ds_kernel_laplacian_at_zero(const DSKernel *kernel, PetscInt dim);

#endif

/* The row-normalised fields' common quantity (SCIENCE.md items 1 and 2), shared by the
   conservative and displacement types: per source set S the relative moment
     t_S(z) = sum_s f(z, s) (z - s) / sum_s k(z, s)
   with f = g, the kernel's gradient factor, for the conservative field (t_S = grad log of
   the KDE of S) and f = k for the displacement field (t_S = z - m_S(z)). Then
     conservative   b(z) = t_Y(z) - t_X(z)     (grad log nu_h - grad log mu_h)
     displacement   V(z) = t_X(z) - t_Y(z)     (m_Y - m_X)
   so the two differ by the weight and the sign only. With an analytic target, t_Y is
   grad log nu_h (conservative) or -h^2 grad log nu_h (displacement, since
   m_Y = z + h^2 grad log nu_h for the gaussian kernel). A kernel sum that underflowed to 0
   gives t_S = 0: that set exerts no drift. */
#ifndef DS_ROW_NORMALISED_H
#define DS_ROW_NORMALISED_H

#include "sources.h"

typedef struct {
  DSFieldSources *sources;
  DSWeight        weight; /* DS_WEIGHT_GRADIENT (conservative) or DS_WEIGHT_VALUE (displacement) */
  PetscReal       sign;   /* v = sign (t_Y - t_X) */
  /* Per query point, grown on demand: the query points and t_X, t_Y ([d][capacity]), the
     analytic target score ([capacity][d]) and the kernel sums against X and Y. */
  PetscInt     capacity;
  PetscReal   *query, *t_x, *t_y, *score;
  DSKernelSums sums_x, sums_y;
  PetscReal   *bound_x, *bound_y; /* [2][capacity] the sums' error bounds (ds_field_sources_sum) */
  PetscInt     underflow_slot;    /* the underflowed_particles diagnostic's slot */
  PetscInt     fallbacks;         /* the last evaluation's sums recomputed over every pair (global) */
  DSSumMethod  method;            /* the last particle sum's method */
  PetscInt     bound_slot, fallback_slot, method_slot; /* with fast sums: sum_error_bound, sum_fallbacks, sum_method */
} DSRowNormalised;

/* Sets field->data to `size` zeroed bytes that begin with a DSRowNormalised (a type may
   extend it: its private struct's first member), set up with the field's sources, the
   weight and the sign; declares the diagnostic underflowed_particles and, with fast sums
   (-drift_sum other than exact), sum_error_bound, sum_fallbacks and sum_method. */
PETSC_INTERN PetscErrorCode ds_row_normalised_create(DSField field, DSWeight weight, PetscReal sign, size_t size);

/* Kernel sums of `nq` query points z (rows [nq][d], first global index query_start, -1 for
   points that are not particles) against every particle and every sample, then t_X and
   t_Y; with `companion`, the sums of l too. The particles must be loaded. */
PETSC_INTERN PetscErrorCode ds_row_normalised_moments(DSField field, DSRowNormalised *row, PetscReal h, PetscInt nq, PetscInt query_start, const PetscReal *z, PetscBool companion);

/* After ds_row_normalised_moments at the particles, with field->want_diagnostics: the
   underflowed_particles diagnostic (ds_field_count_underflow), the particles whose moment
   over the other particles is exactly 0 (the self pair adds nothing to it) and whose sum
   over the target's samples is 0 (never one with an analytic target, whose exact score
   always acts); with fast sums, sum_error_bound, the largest over the particles of the
   bound on |v - v_exact| (doc/performance.md "The fast Gauss transform's bound"),
     |dt_S| <= (sqrt(d) B_M + |t_S| B_V) / (W_S - B_V)  per source set, infinite when W_S <= B_V,
   summed over the sets, with B_V, B_M the bounds of the sums W_S and of each moment
   component; sum_fallbacks, the particle sums recomputed over every pair; and sum_method,
   the method of the last particle sum (0 exact, 1 cutoff, 2 fgt). Collective. */
PETSC_INTERN PetscErrorCode ds_row_normalised_diagnostics(DSField field, const DSRowNormalised *row, PetscReal h);

/* v = sign (t_Y - t_X) at the nq points of the last ds_row_normalised_moments (rows [nq][d]). */
PETSC_INTERN void ds_row_normalised_combine(DSField field, const DSRowNormalised *row, PetscInt nq, PetscReal *v);

/* The ops of a row-normalised field without diagnostics of its own: evaluate at the
   particles and at query points. field->data begins with a DSRowNormalised. */
PETSC_INTERN PetscErrorCode ds_row_normalised_evaluate(DSField field, PetscReal h, const PetscReal *x, PetscReal *v);
PETSC_INTERN PetscErrorCode ds_row_normalised_evaluate_at(DSField field, PetscReal h, const PetscReal *x, PetscInt nz, const PetscReal *z, PetscReal *v);

/* Frees field->data, which begins with a DSRowNormalised. */
PETSC_INTERN PetscErrorCode ds_row_normalised_destroy(DSField field);

#endif

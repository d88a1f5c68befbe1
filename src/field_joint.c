/* The joint field of the official implementation (SCIENCE.md item 3) and the
   multitemperature field built from it (item 4).

   Columns c run over the particles and then the samples; K_ic = k(x_i, c) with K_ii = 0,
   R_i = sum_c K_ic, C_c = sum_i K_ic, A_ic = K_ic / sqrt(R_i C_c). Column sums need every
   particle's row, so the field takes two ring passes:
     1. row sums R_i at home, column sums C_c travelling with each block back to its owner;
     2. with w_c = 1 / sqrt(C_c) travelling with each block, the weighted sums
          P'_i = sum_{data} K_ic w_c,  MY'_i = sum_{data} K_ic w_c (x_i - y_c),
          Q'_i = sum_{particles} K_ic w_c,  MX'_i = sum_{particles} K_ic w_c (x_i - x_c),
        so that P_i = P'_i / sqrt(R_i), Q_i = Q'_i / sqrt(R_i) and
          V_i = Q_i sum_{data} A_ic y_c - P_i sum_{particles} A_ic x_c
              = P_i MX'_i / sqrt(R_i) - Q_i MY'_i / sqrt(R_i),
        a form relative to x_i, free of cancellation.
   A zero row or column sum (every kernel value underflowed) gives zero A entries. */
#include <math.h>
#include <stdio.h>
#include "field_impl.h"

typedef struct {
  DSField        field;
  const DSBlock *rows;
  PetscBool      exclude_self;
} RowColumnVisit;

/* Pass 1: row sums of this rank's particles, column sums of the visiting block. */
static PetscErrorCode visit_row_column(void *ctx, const DSBlock *visiting, PetscReal *column_sums)
{
  RowColumnVisit *v = (RowColumnVisit *)ctx;

  PetscFunctionBeginUser;
  ds_kernel_row_column_sums(&v->field->kernel, v->rows, visiting, v->exclude_self, v->field->row_sums, column_sums);
  v->field->pairs += (PetscLogDouble)v->rows->n * visiting->n;
  PetscCall(PetscLogFlops((3.0 * v->rows->dim + 3.0) * v->rows->n * visiting->n));
  PetscFunctionReturn(0);
}

/* Column sums to column weights 1 / sqrt(C_c), 0 for an empty column. */
static void column_weights(PetscInt n, PetscReal *c)
{
  for (PetscInt j = 0; j < n; j++) c[j] = c[j] > 0 ? 1.0 / PetscSqrtReal(c[j]) : 0.0;
}

/* Ring pass of `visit` over the particles or the samples with one travelling value per point. */
static PetscErrorCode pass(DSField f, PetscBool over_data, DSRingVisitor visit, void *ctx, PetscReal *travelling)
{
  const PetscInt n     = over_data ? f->target->samples_local : f->local_count;
  DSBlock        block = {n, f->dim, n, over_data ? f->data_start : f->particle_start, over_data ? f->data : f->particles, NULL};

  PetscFunctionBeginUser;
  PetscCall(ds_ring_pass(over_data ? f->data_ring : f->particle_ring, &block, visit, ctx, 1, travelling));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_joint(DSField f, PetscReal h, PetscReal *v)
{
  const PetscInt n = f->local_count, m = f->target->samples_local, d = f->dim;
  DSBlock        rows = {n, d, n, f->particle_start, f->particles, NULL};

  PetscFunctionBeginUser;
  ds_kernel_setup(f->kernel.type, h, f->kernel.beta, &f->kernel);

  /* Pass 1: R_i at home; C_c travels with its block. Replicated samples are visited by a
     ring over this rank alone, so their column sums still need every rank's rows. */
  RowColumnVisit rc = {f, &rows, PETSC_FALSE};
  PetscCall(PetscArrayzero(f->row_sums, n));
  PetscCall(PetscArrayzero(f->particle_columns, n));
  PetscCall(PetscArrayzero(f->data_columns, m));
  rc.exclude_self = PETSC_TRUE;
  PetscCall(pass(f, PETSC_FALSE, visit_row_column, &rc, f->particle_columns));
  rc.exclude_self = PETSC_FALSE;
  PetscCall(pass(f, PETSC_TRUE, visit_row_column, &rc, f->data_columns));
  if (f->target->replicated) {
    PetscMPIInt count;
    PetscCall(PetscMPIIntCast(m, &count));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, f->data_columns, count, MPIU_REAL, MPI_SUM, f->comm));
  }
  column_weights(n, f->particle_columns);
  column_weights(m, f->data_columns);

  /* Pass 2: sums weighted by the travelling column weights against particles (Q', MX')
     and samples (P', MY'); the joint fields' weight is the kernel value. */
  DSKernelSums sx = {n, f->sums_x.value, f->sums_x.moment, NULL}, sy = {n, f->sums_y.value, f->sums_y.moment, NULL};
  DSFieldVisit wv = {f, &rows, &sx, PETSC_TRUE};
  PetscCall(PetscArrayzero(sx.value, n));
  PetscCall(PetscArrayzero(sx.moment, d * n));
  PetscCall(PetscArrayzero(sy.value, n));
  PetscCall(PetscArrayzero(sy.moment, d * n));
  PetscCall(pass(f, PETSC_FALSE, ds_field_visit_sums, &wv, f->particle_columns));
  wv.sums         = &sy;
  wv.exclude_self = PETSC_FALSE;
  PetscCall(pass(f, PETSC_TRUE, ds_field_visit_sums, &wv, f->data_columns));

  /* Each factor is divided by sqrt(R_i), not the product by R_i: K_ic <= R_i and
     K_ic <= C_c keep every A_ic <= 1, so nothing overflows even for subnormal sums. */
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal inv_sqrt_r = f->row_sums[i] > 0 ? 1.0 / PetscSqrtReal(f->row_sums[i]) : 0.0;
    const PetscReal p = sy.value[i] * inv_sqrt_r, q = sx.value[i] * inv_sqrt_r;
    for (PetscInt c = 0; c < d; c++) v[i * d + c] = p * (sx.moment[c * n + i] * inv_sqrt_r) - q * (sy.moment[c * n + i] * inv_sqrt_r);
  }
  PetscFunctionReturn(0);
}

typedef struct {
  DSField        field;
  const DSBlock *rows;
  PetscReal      sum;
} DistanceVisit;

static PetscErrorCode visit_distance(void *ctx, const DSBlock *visiting, PetscReal *unused)
{
  DistanceVisit *v = (DistanceVisit *)ctx;

  PetscFunctionBeginUser;
  v->sum += ds_kernel_distance_sum(v->rows, visiting);
  v->field->pairs += (PetscLogDouble)v->rows->n * visiting->n;
  PetscCall(PetscLogFlops((3.0 * v->rows->dim + 2.0) * v->rows->n * visiting->n));
  PetscFunctionReturn(0);
}

/* s = mean of |x_i - c| over every particle i and every column c (particles, the self
   pair included at distance 0, and samples). */
static PetscErrorCode distance_scale(DSField f, PetscReal *s)
{
  DSBlock       rows  = {f->local_count, f->dim, f->local_count, f->particle_start, f->particles, NULL};
  DistanceVisit visit = {f, &rows, 0.0};
  PetscReal     total;

  PetscFunctionBeginUser;
  PetscCall(pass(f, PETSC_FALSE, visit_distance, &visit, NULL));
  PetscCall(pass(f, PETSC_TRUE, visit_distance, &visit, NULL));
  PetscCallMPI(MPI_Allreduce(&visit.sum, &total, 1, MPIU_REAL, MPI_SUM, f->comm));
  *s = total / ((PetscReal)f->global_count * (f->global_count + f->target->samples_global));
  PetscFunctionReturn(0);
}

/* V = (s / sqrt(d)) sum_tau V^tau / RMS(V^tau), V^tau the joint field with bandwidth s tau;
   a temperature whose field vanishes everywhere (RMS 0) contributes nothing. */
PetscErrorCode ds_field_multitemperature(DSField f, PetscReal *v)
{
  const PetscInt n = f->local_count * f->dim;
  PetscReal      s;

  PetscFunctionBeginUser;
  PetscCall(distance_scale(f, &s));
  f->diagnostic_values[0] = s;
  PetscCall(PetscArrayzero(v, n));
  for (PetscInt k = 0; k < f->ntemperatures; k++) {
    PetscReal rms;
    PetscCall(ds_field_joint(f, s * f->temperatures[k], f->field_at_temperature));
    PetscCall(ds_field_rms(f, f->field_at_temperature, &rms));
    f->diagnostic_values[1 + k] = rms;
    if (rms > 0)
      for (PetscInt i = 0; i < n; i++) v[i] += f->field_at_temperature[i] / rms;
  }
  for (PetscInt i = 0; i < n; i++) v[i] *= s / PetscSqrtReal((PetscReal)f->dim);
  PetscFunctionReturn(0);
}

/* The joint field of the official implementation (SCIENCE.md item 3).

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
#include "joint.h"

typedef struct {
  DSField        field;
  const DSBlock *rows;
  PetscReal     *row_sums;
  PetscBool      exclude_self;
} RowColumnVisit;

/* Pass 1: row sums of this rank's particles, column sums of the visiting block. */
static PetscErrorCode visit_row_column(void *ctx, const DSBlock *visiting, PetscReal *column_sums)
{
  RowColumnVisit *v = (RowColumnVisit *)ctx;

  PetscFunctionBeginUser;
  ds_kernel_row_column_sums(&v->field->kernel, v->rows, visiting, v->exclude_self, v->row_sums, column_sums);
  v->field->pairs += (PetscLogDouble)v->rows->n * visiting->n;
  PetscCall(PetscLogFlops((3.0 * v->rows->dim + 3.0) * v->rows->n * visiting->n));
  PetscFunctionReturn(0);
}

/* Column sums to column weights 1 / sqrt(C_c), 0 for an empty column. */
static void column_weights(PetscInt n, PetscReal *c)
{
  for (PetscInt j = 0; j < n; j++) c[j] = c[j] > 0 ? 1.0 / PetscSqrtReal(c[j]) : 0.0;
}

PetscErrorCode ds_joint_compute(DSField f, DSJoint *J, PetscReal h, PetscReal *v)
{
  const PetscInt n = f->local_count, m = f->target->samples_local, d = f->dim;
  const DSBlock *rows = &J->sources->block[DS_SOURCES_PARTICLES];
  PetscMPIInt    mm;

  PetscFunctionBeginUser;
  ds_kernel_setup(f->kernel.type, h, f->kernel.beta, &f->kernel);

  /* Pass 1: R_i at home; C_c travels with its block. Replicated samples are visited by a
     ring over this rank alone, so their column sums still need every rank's rows. */
  RowColumnVisit rc = {f, rows, J->row_sums, PETSC_TRUE};
  PetscCall(PetscArrayzero(J->row_sums, n));
  PetscCall(PetscArrayzero(J->particle_columns, n));
  PetscCall(PetscArrayzero(J->data_columns, m));
  PetscCall(ds_field_sources_pass(J->sources, DS_SOURCES_PARTICLES, visit_row_column, &rc, J->particle_columns));
  rc.exclude_self = PETSC_FALSE;
  PetscCall(ds_field_sources_pass(J->sources, DS_SOURCES_DATA, visit_row_column, &rc, J->data_columns));
  PetscCall(PetscMPIIntCast(m, &mm));
  if (f->target->replicated) PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, J->data_columns, mm, MPIU_REAL, MPI_SUM, f->comm));
  column_weights(n, J->particle_columns);
  column_weights(m, J->data_columns);

  /* Pass 2: sums weighted by the travelling column weights against particles (Q', MX')
     and samples (P', MY'); the joint fields' weight is the kernel value. */
  DSKernelSums sx = J->sums_x, sy = J->sums_y;
  PetscCall(ds_field_sources_sum(f, J->sources, DS_WEIGHT_VALUE, rows, DS_SOURCES_PARTICLES, PETSC_TRUE, J->particle_columns, &sx));
  PetscCall(ds_field_sources_sum(f, J->sources, DS_WEIGHT_VALUE, rows, DS_SOURCES_DATA, PETSC_FALSE, J->data_columns, &sy));

  /* Each factor is divided by sqrt(R_i), not the product by R_i: K_ic <= R_i and
     K_ic <= C_c keep every A_ic <= 1, so nothing overflows even for subnormal sums. */
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal inv_sqrt_r = J->row_sums[i] > 0 ? 1.0 / PetscSqrtReal(J->row_sums[i]) : 0.0;
    const PetscReal p = sy.value[i] * inv_sqrt_r, q = sx.value[i] * inv_sqrt_r;
    for (PetscInt c = 0; c < d; c++) v[i * d + c] = p * (sx.moment[c * n + i] * inv_sqrt_r) - q * (sy.moment[c * n + i] * inv_sqrt_r);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ds_joint_create(DSField f, size_t size)
{
  DSJoint       *J;
  const PetscInt n = PetscMax(f->local_count, 1), m = PetscMax(f->target->samples_local, 1), d = f->dim;

  PetscFunctionBeginUser;
  PetscCheck(!f->target->analytic, f->comm, PETSC_ERR_USER_INPUT, "-drift_field %s needs target samples: its columns are the particles and the samples (give -drift_target_samples M >= 1)", f->type->name);
  PetscCall(PetscCalloc(PetscMax(size, sizeof(*J)), &J));
  f->data = J;
  PetscCall(ds_field_sources_create(f, 0.0, &J->sources));
  PetscCall(PetscMalloc3(n, &J->row_sums, n, &J->particle_columns, m, &J->data_columns));
  PetscCall(PetscMalloc4(n, &J->sums_x.value, d * n, &J->sums_x.moment, n, &J->sums_y.value, d * n, &J->sums_y.moment));
  J->sums_x.ld = J->sums_y.ld = f->local_count;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_joint_destroy(DSField f)
{
  DSJoint *J = (DSJoint *)f->data;

  PetscFunctionBeginUser;
  PetscCall(ds_field_sources_destroy(&J->sources));
  PetscCall(PetscFree3(J->row_sums, J->particle_columns, J->data_columns));
  PetscCall(PetscFree4(J->sums_x.value, J->sums_x.moment, J->sums_y.value, J->sums_y.moment));
  PetscCall(PetscFree(f->data));
  PetscFunctionReturn(0);
}

/* The joint field's private state: its own diagnostic is underflowed_particles, the
   particles whose row sum R_i is 0 (every kernel value to the other particles and to the
   samples underflowed, so V_i = 0). */
typedef struct {
  DSJoint  joint; /* first: the shared joint ops see it */
  PetscInt underflow_slot;
} Joint;

static PetscErrorCode evaluate_joint(DSField f, PetscReal h, const PetscReal *x, PetscReal *v)
{
  Joint   *p = (Joint *)f->data;
  PetscInt zero_rows = 0;

  PetscFunctionBeginUser;
  ds_field_sources_load(f, p->joint.sources, x);
  PetscCall(ds_joint_compute(f, &p->joint, h, v));
  if (!f->want_diagnostics) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < f->local_count; i++) zero_rows += p->joint.row_sums[i] == 0 ? 1 : 0;
  PetscCall(ds_field_count_underflow(f, p->underflow_slot, h, zero_rows));
  PetscFunctionReturn(0);
}

static PetscErrorCode create_joint(DSField f)
{
  PetscFunctionBeginUser;
  PetscCall(ds_joint_create(f, sizeof(Joint)));
  PetscCall(ds_field_declare_diagnostic(f, "underflowed_particles", &((Joint *)f->data)->underflow_slot));
  f->ops.evaluate = evaluate_joint;
  f->ops.destroy  = ds_joint_destroy;
  PetscFunctionReturn(0);
}

/* The type as the registry and the options see it (ds_field.h). Every type file ends with
   its create function (filling the ops table) and this description, so those ends look
   alike across src/fields/ by design: they are the registry's interface, not shared logic. */
const DSFieldTypeInfo ds_field_joint = {
  .name           = "joint",
  .create         = create_joint,
  .default_kernel = DS_KERNEL_LAPLACE,
  .excludes_self  = PETSC_TRUE,
  .needs_samples  = PETSC_TRUE,
  .uses_bandwidth = PETSC_TRUE,
};

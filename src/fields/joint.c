/* The joint field of the official implementation (SCIENCE.md item 3) and its floors
   (SCIENCE.md, "The official codes' floors").

   Columns c run over the particles, the explicit negatives (when given) and the samples;
   K_ic = k(x_i, c), R_i = sum_c K_ic, C_c = sum_i K_ic over the particle rows, w_c the
   column weights (1 unless given). Column sums need every particle's row, so the field
   takes two ring passes:
     1. row sums R_i at home, column sums C_c travelling with each block back to its owner;
     2. the affinities A_ic summed against the particles and negatives (Q side) and the
        samples (P side): P_i = sum_{data} A_ic, MY_i = sum_{data} A_ic (x_i - y_c),
        Q_i = sum_{particles, negatives} A_ic, MX_i likewise, and
          V_i = Q_i sum_{data} A_ic y_c - P_i sum_{particles, negatives} A_ic c
              = P_i MX_i - Q_i MY_i,
        a form relative to x_i, free of cancellation.
   exact (K_ii = 0, A = w K / sqrt(R C), 0 where a sum is 0): with w_c / sqrt(C_c)
   travelling, the micro-kernels' weighted sums, divided by sqrt(R_i) at home (kernels.c).
   tutorial and large_scale: with C_c and w_c travelling, the floored affinities of
   ds_kernels_floor.h, which also sum the part of P_i and Q_i at the floor. */
#include <stdio.h>
#include "joint.h"

typedef struct {
  DSField            field;
  const DSBlock     *rows;
  PetscReal         *row_sums;
  PetscBool          self_pairs;
  const DSFloorRule *rule; /* NULL: the exact mode (self pair excluded) */
} RowColumnVisit;

/* Pass 1: row sums of this rank's particles, column sums of the visiting block. */
static PetscErrorCode visit_row_column(void *ctx, const DSBlock *visiting, PetscReal *column_sums)
{
  RowColumnVisit *v = (RowColumnVisit *)ctx;

  PetscFunctionBeginUser;
  if (v->rule) ds_kernel_floor_row_column_sums(&v->field->kernel, v->rule, v->rows, visiting, v->self_pairs, v->row_sums, column_sums);
  else ds_kernel_row_column_sums(&v->field->kernel, v->rows, visiting, v->self_pairs, v->row_sums, column_sums);
  v->field->pairs += (PetscLogDouble)v->rows->n * visiting->n;
  PetscCall(PetscLogFlops((3.0 * v->rows->dim + 3.0) * v->rows->n * visiting->n));
  PetscFunctionReturn(0);
}

typedef struct {
  DSField            field;
  const DSBlock     *rows;
  const PetscReal   *row_sums;
  PetscBool          self_pairs;
  const DSFloorRule *rule;
  DSFloorSums       *sums;
} FloorVisit;

/* Pass 2 of the floored modes: the visiting block carries its column sums and weights. */
static PetscErrorCode visit_floored(void *ctx, const DSBlock *visiting, PetscReal *travelling)
{
  FloorVisit *v = (FloorVisit *)ctx;

  PetscFunctionBeginUser;
  ds_kernel_floor_sums(&v->field->kernel, v->rule, v->rows, v->row_sums, visiting, travelling, travelling + visiting->n, v->self_pairs, v->sums);
  v->field->pairs += (PetscLogDouble)v->rows->n * visiting->n;
  PetscCall(PetscLogFlops((6.0 * v->rows->dim + 8.0) * v->rows->n * visiting->n));
  PetscFunctionReturn(0);
}

/* The source sets present, in column order: particles, negatives, data. */
static PetscInt present_sets(const DSJoint *J, DSSourceSet sets[DS_SOURCE_SETS])
{
  PetscInt k = 0;
  sets[k++]  = DS_SOURCES_PARTICLES;
  if (J->negatives) sets[k++] = DS_SOURCES_NEGATIVES;
  sets[k++] = DS_SOURCES_DATA;
  return k;
}

/* Pass 1 over every set: R_i at home, C_c into the first travelling row of each set.
   Replicated sets are visited by a ring over this rank alone, so their column sums still
   need every rank's rows. */
static PetscErrorCode row_column_sums(DSField f, DSJoint *J, const DSFloorRule *rule)
{
  DSSourceSet    sets[DS_SOURCE_SETS];
  const PetscInt nsets = present_sets(J, sets);
  RowColumnVisit rc    = {f, &J->sources->block[DS_SOURCES_PARTICLES], J->row_sums, PETSC_FALSE, rule};

  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(J->row_sums, f->local_count));
  for (PetscInt k = 0; k < nsets; k++) {
    const DSSourceSet set = sets[k];
    PetscMPIInt       n;
    PetscCall(PetscMPIIntCast(J->sources->block[set].n, &n));
    PetscCall(PetscArrayzero(J->travelling[set], n));
    rc.self_pairs = set == DS_SOURCES_PARTICLES ? PETSC_TRUE : PETSC_FALSE;
    PetscCall(ds_field_sources_pass(J->sources, set, visit_row_column, &rc, 1, J->travelling[set]));
    if (set != DS_SOURCES_PARTICLES && f->target->replicated) PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, J->travelling[set], n, MPIU_REAL, MPI_SUM, f->comm));
  }
  PetscFunctionReturn(0);
}

/* V_i = P_i MX_i - Q_i MY_i from the value and moment sums of both sides, each factor
   divided by sqrt(R_i) (0 where R_i = 0) when row_sums is given (the exact mode's sums
   are not yet normalised by the rows), as they are otherwise. */
static void combine(PetscInt n, PetscInt d, const PetscReal *q, const PetscReal *mx, const PetscReal *p, const PetscReal *my, const PetscReal *row_sums, PetscReal *v)
{
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal s = row_sums ? (row_sums[i] > 0 ? 1.0 / PetscSqrtReal(row_sums[i]) : 0.0) : 1.0, pi = p[i] * s, qi = q[i] * s;
    for (PetscInt c = 0; c < d; c++) v[i * d + c] = pi * (mx[c * n + i] * s) - qi * (my[c * n + i] * s);
  }
}

/* The exact field (SCIENCE.md item 3 as written): K_ii = 0, A = w K / sqrt(R C). */
static PetscErrorCode compute_exact(DSField f, DSJoint *J, PetscReal *v)
{
  const PetscInt n = f->local_count;
  const DSBlock *rows = &J->sources->block[DS_SOURCES_PARTICLES];
  DSSourceSet    sets[DS_SOURCE_SETS];
  const PetscInt nsets = present_sets(J, sets);

  PetscFunctionBeginUser;
  PetscCall(row_column_sums(f, J, NULL));
  /* Pass 2: sums weighted by the travelling w_c / sqrt(C_c) (0 for an empty column); the
     joint fields' weight is the kernel value. */
  for (PetscInt k = 0; k < nsets; k++) {
    const DSSourceSet set = sets[k];
    PetscReal        *c   = J->travelling[set];
    for (PetscInt j = 0; j < J->sources->block[set].n; j++) c[j] = c[j] > 0 ? J->weights[set][j] / PetscSqrtReal(c[j]) : 0.0;
    PetscCall(ds_field_sources_sum(f, J->sources, DS_WEIGHT_VALUE, rows, set, set == DS_SOURCES_PARTICLES ? PETSC_TRUE : PETSC_FALSE, c, &J->sums[set], NULL));
  }
  DSKernelSums *sx = &J->sums[DS_SOURCES_PARTICLES], *sy = &J->sums[DS_SOURCES_DATA];
  if (J->negatives) {
    const DSKernelSums *sn = &J->sums[DS_SOURCES_NEGATIVES];
    for (PetscInt i = 0; i < n; i++) sx->value[i] += sn->value[i];
    for (PetscInt i = 0; i < n * f->dim; i++) sx->moment[i] += sn->moment[i];
  }
  /* Each factor is divided by sqrt(R_i), not the product by R_i: K_ic <= R_i and
     K_ic <= C_c keep every A_ic <= w_c, so nothing overflows even for subnormal sums. */
  combine(n, f->dim, sx->value, sx->moment, sy->value, sy->moment, J->row_sums, v);
  PetscFunctionReturn(0);
}

/* The tutorial's or the large-scale code's field: pass 2 with floored affinities. */
static PetscErrorCode compute_floored(DSField f, DSJoint *J, PetscReal unit, PetscReal *v)
{
  const PetscInt    n    = f->local_count, d = f->dim;
  const DSFloorRule rule = ds_floor_rule(J->floor, unit);
  DSSourceSet       sets[DS_SOURCE_SETS];
  const PetscInt    nsets = present_sets(J, sets);
  FloorVisit        fv    = {f, &J->sources->block[DS_SOURCES_PARTICLES], J->row_sums, PETSC_FALSE, &rule, NULL};

  PetscFunctionBeginUser;
  PetscCall(row_column_sums(f, J, &rule));
  for (int side = 0; side < 2; side++) {
    PetscCall(PetscArrayzero(J->floor_sums[side].value, n));
    PetscCall(PetscArrayzero(J->floor_sums[side].floor_value, n));
    PetscCall(PetscArrayzero(J->floor_sums[side].moment, n * d));
    J->floor_sums[side].floor_pairs = 0;
  }
  for (PetscInt k = 0; k < nsets; k++) {
    const DSSourceSet set = sets[k];
    const PetscInt    m   = J->sources->block[set].n;
    PetscCall(PetscArraycpy(J->travelling[set] + m, J->weights[set], m));
    fv.self_pairs = set == DS_SOURCES_PARTICLES ? PETSC_TRUE : PETSC_FALSE;
    fv.sums       = &J->floor_sums[set == DS_SOURCES_DATA ? 1 : 0];
    PetscCall(ds_field_sources_pass(J->sources, set, visit_floored, &fv, 2, J->travelling[set]));
  }
  combine(n, d, J->floor_sums[0].value, J->floor_sums[0].moment, J->floor_sums[1].value, J->floor_sums[1].moment, NULL, v);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_joint_compute(DSField f, DSJoint *J, PetscReal h, PetscReal unit, PetscReal *v)
{
  PetscFunctionBeginUser;
  ds_kernel_setup(f->kernel.type, h, f->kernel.beta, &f->kernel);
  if (J->floor == DS_JOINT_FLOOR_EXACT) PetscCall(compute_exact(f, J, v));
  else PetscCall(compute_floored(f, J, unit, v));
  PetscFunctionReturn(0);
}

static const char *const floor_diagnostic_names[DS_JOINT_FLOOR_DIAGNOSTICS] = {"floor_share_p_mean", "floor_share_p_max", "floor_share_q_mean", "floor_share_q_max", "floor_pairs"};

PetscErrorCode ds_joint_declare_floor_diagnostics(DSField f, const DSJoint *J, const char suffix[], PetscInt slots[])
{
  PetscFunctionBeginUser;
  slots[0] = -1;
  if (J->floor == DS_JOINT_FLOOR_EXACT) PetscFunctionReturn(0);
  for (int k = 0; k < DS_JOINT_FLOOR_DIAGNOSTICS; k++) {
    char name[64];
    snprintf(name, sizeof(name), "%s%s", floor_diagnostic_names[k], suffix);
    PetscCall(ds_field_declare_diagnostic(f, name, &slots[k]));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ds_joint_floor_diagnostics(DSField f, const DSJoint *J, const PetscInt slots[])
{
  /* sums of the shares of P and Q, then the pairs; maxima of the shares */
  PetscReal sums[3] = {0, 0, 0}, maxima[2] = {0, 0};

  PetscFunctionBeginUser;
  if (slots[0] < 0) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < f->local_count; i++)
    for (int side = 0; side < 2; side++) {
      const DSFloorSums *s     = &J->floor_sums[1 - side]; /* P (data) first, then Q */
      const PetscReal    share = s->value[i] > 0 ? s->floor_value[i] / s->value[i] : 0.0;
      sums[side] += share;
      maxima[side] = PetscMax(maxima[side], share);
    }
  sums[2] = (PetscReal)(J->floor_sums[0].floor_pairs + J->floor_sums[1].floor_pairs);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sums, 3, MPIU_REAL, MPI_SUM, f->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, maxima, 2, MPIU_REAL, MPI_MAX, f->comm));
  f->diagnostic_values[slots[0]] = sums[0] / (PetscReal)f->global_count;
  f->diagnostic_values[slots[1]] = maxima[0];
  f->diagnostic_values[slots[2]] = sums[1] / (PetscReal)f->global_count;
  f->diagnostic_values[slots[3]] = maxima[1];
  f->diagnostic_values[slots[4]] = sums[2];
  PetscFunctionReturn(0);
}

/* Allocates the buffers of every present set and side. */
static PetscErrorCode allocate_buffers(DSField f, DSJoint *J)
{
  const PetscInt n = PetscMax(f->local_count, 1), d = f->dim;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n, &J->row_sums));
  for (int set = 0; set < DS_SOURCE_SETS; set++) {
    if (set == DS_SOURCES_NEGATIVES && !J->negatives) continue;
    PetscCall(PetscMalloc1(DS_SOURCES_MAX_TRAVELLING * PetscMax(J->sources->block[set].n, 1), &J->travelling[set]));
    PetscCall(PetscMalloc2(n, &J->sums[set].value, d * n, &J->sums[set].moment));
    J->sums[set].ld = f->local_count;
  }
  for (int side = 0; side < 2; side++) {
    PetscCall(PetscMalloc3(n, &J->floor_sums[side].value, d * n, &J->floor_sums[side].moment, n, &J->floor_sums[side].floor_value));
    J->floor_sums[side].ld = f->local_count;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ds_joint_create(DSField f, size_t size)
{
  DSJoint *J;

  PetscFunctionBeginUser;
  PetscCheck(!f->target->analytic, f->comm, PETSC_ERR_USER_INPUT, "-drift_field %s needs target samples: its columns are the particles and the samples (give -drift_target_samples M >= 1)", f->type->name);
  PetscCall(PetscCalloc(PetscMax(size, sizeof(*J)), &J));
  f->data        = J;
  f->ops.destroy = ds_joint_destroy; /* from here on, a failure is cleaned up by ds_field_create */
  J->floor       = f->opts->joint_floor;
  PetscCall(ds_field_sources_create(f, DS_SUM_EXACT, 0.0, PETSC_FALSE, &J->sources)); /* its particle sums carry column weights */
  PetscCall(ds_joint_columns_read(f, f->opts, J));
  PetscCall(allocate_buffers(f, J));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_joint_destroy(DSField f)
{
  DSJoint *J = (DSJoint *)f->data;

  PetscFunctionBeginUser;
  if (!J) PetscFunctionReturn(0);
  PetscCall(ds_field_sources_destroy(&J->sources));
  PetscCall(PetscFree(J->row_sums));
  for (int set = 0; set < DS_SOURCE_SETS; set++) {
    PetscCall(PetscFree(J->weights[set]));
    PetscCall(PetscFree(J->travelling[set]));
    PetscCall(PetscFree2(J->sums[set].value, J->sums[set].moment));
  }
  for (int side = 0; side < 2; side++) PetscCall(PetscFree3(J->floor_sums[side].value, J->floor_sums[side].moment, J->floor_sums[side].floor_value));
  PetscCall(PetscFree(f->data));
  PetscFunctionReturn(0);
}

/* The joint field's private state: its own diagnostics are underflowed_particles, the
   particles whose row sum R_i is 0 (every kernel value to the other particles and to the
   samples underflowed, so V_i = 0; never with the large-scale floor, which still acts),
   and the floor's. */
typedef struct {
  DSJoint  joint; /* first: the shared joint ops see it */
  PetscInt underflow_slot, floor_slots[DS_JOINT_FLOOR_DIAGNOSTICS];
} Joint;

static PetscErrorCode evaluate_joint(DSField f, PetscReal h, const PetscReal *x, PetscReal *v)
{
  Joint   *p = (Joint *)f->data;
  PetscInt zero_rows = 0;

  PetscFunctionBeginUser;
  ds_field_sources_load(f, p->joint.sources, x);
  PetscCall(ds_joint_compute(f, &p->joint, h, 1.0, v));
  if (!f->want_diagnostics) PetscFunctionReturn(0);
  /* With the large-scale floor a row of zeros still has every affinity at the floor: its
     particle feels the floor's drift, so none is counted. */
  if (p->joint.floor != DS_JOINT_FLOOR_LARGE_SCALE)
    for (PetscInt i = 0; i < f->local_count; i++) zero_rows += p->joint.row_sums[i] == 0 ? 1 : 0;
  PetscCall(ds_field_count_underflow(f, p->underflow_slot, h, zero_rows));
  PetscCall(ds_joint_floor_diagnostics(f, &p->joint, p->floor_slots));
  PetscFunctionReturn(0);
}

static PetscErrorCode create_joint(DSField f)
{
  Joint *p;

  PetscFunctionBeginUser;
  PetscCall(ds_joint_create(f, sizeof(Joint)));
  p               = (Joint *)f->data;
  PetscCall(ds_field_declare_diagnostic(f, "underflowed_particles", &p->underflow_slot));
  PetscCall(ds_joint_declare_floor_diagnostics(f, &p->joint, "", p->floor_slots));
  f->ops.evaluate = evaluate_joint;
  PetscFunctionReturn(0);
}

/* The type as the registry and the options see it (ds_field.h). Every type file ends with
   its create function (filling the ops table) and this description, so those ends look
   alike across src/fields/ by design: they are the registry's interface, not shared logic. */
const DSFieldTypeInfo ds_field_joint = {
  .name                = "joint",
  .create              = create_joint,
  .default_kernel      = DS_KERNEL_LAPLACE,
  .excludes_self       = PETSC_TRUE,
  .needs_samples       = PETSC_TRUE,
  .uses_bandwidth      = PETSC_TRUE,
  .joint_columns       = PETSC_TRUE,
  .default_joint_floor = DS_JOINT_FLOOR_TUTORIAL,
  .guard_speed         = DS_GUARD_SPEED_JOINT,
};

/* The multitemperature field of the official large-scale code (SCIENCE.md item 4): with s
   the mean distance |x_i - c| over every particle i and every column c (the particles,
   the self pair included at distance 0, the negatives and the samples; weighted by the
   column weights when some are given), and V^tau the joint field (joint.h) with bandwidth
   s tau for each temperature tau,
     V = (s / sqrt(d)) sum_tau V^tau / RMS(V^tau),  RMS(V^tau) = sqrt(1/(N d) sum_i |V^tau_i|^2).
   With the large-scale floors (drift_loss) the distances are sqrt(max(r^2, 1e-8)) (the
   self pair's too, in s), the bandwidths max(s, 1e-3) tau, and with the coordinates'
   scale u = max(s / sqrt(d), 1e-3)
     V = sum_tau V^tau / sqrt(max(RMS(V^tau)^2 / u^2, 1e-8)),
   the code's sum of normalised forces in coordinates divided by u, back in the original
   units. Its own diagnostics are s (distance_scale), each RMS(V^tau) (rms_tau_<tau>) and
   the floor's per temperature (joint.h, suffix _tau_<tau>). */
#include <stdio.h>
#include "joint.h"

typedef struct {
  DSJoint    joint; /* first: the joint type's state and destroy */
  PetscReal *field_at_temperature; /* [local_count][d] */
  PetscInt   ntemperatures;
  PetscReal  temperatures[DS_MAX_TEMPERATURES];
  PetscInt   scale_slot, rms_slot[DS_MAX_TEMPERATURES]; /* diagnostics' slots */
  PetscInt   floor_slots[DS_MAX_TEMPERATURES][DS_JOINT_FLOOR_DIAGNOSTICS];
} Multitemperature;

typedef struct {
  DSField        field;
  const DSBlock *rows;
  PetscReal      min_r2; /* < 0: the plain distances of ds_kernel_distance_sum */
  PetscReal      sum;
} DistanceVisit;

/* Adds sum_i sum_c w_c |x_i - c| of this rank's particles against the visiting block (its
   column weights travelling with it, when the ring carries them). */
static PetscErrorCode visit_distance(void *ctx, const DSBlock *visiting, PetscReal *weights)
{
  DistanceVisit *v      = (DistanceVisit *)ctx;
  DSBlock        source = *visiting;

  PetscFunctionBeginUser;
  source.weight = weights;
  v->sum += v->min_r2 < 0 ? ds_kernel_distance_sum(v->rows, visiting) : ds_kernel_floor_distance_sum(v->rows, &source, v->min_r2);
  v->field->pairs += (PetscLogDouble)v->rows->n * visiting->n;
  PetscCall(PetscLogFlops((3.0 * v->rows->dim + 2.0) * v->rows->n * visiting->n));
  PetscFunctionReturn(0);
}

/* s = the mean of |x_i - c| over every particle i and every column c: plain for the exact
   and tutorial fields without negatives or weights (SCIENCE.md item 4), otherwise
   sum_{i,c} w_c d_ic / (N sum_c w_c) with d_ic = sqrt(max(r^2, min_r2)). */
static PetscErrorCode distance_scale(DSField f, DSJoint *J, PetscReal *s)
{
  const PetscBool plain = (J->floor != DS_JOINT_FLOOR_LARGE_SCALE && !J->negatives && !J->weighted) ? PETSC_TRUE : PETSC_FALSE;
  DistanceVisit   visit = {f, &J->sources->block[DS_SOURCES_PARTICLES], plain ? -1.0 : (J->floor == DS_JOINT_FLOOR_LARGE_SCALE ? DS_LARGE_SCALE_MIN_R2 : 0.0), 0.0};
  PetscReal       total;

  PetscFunctionBeginUser;
  for (int set = 0; set < DS_SOURCE_SETS; set++) {
    if (set == DS_SOURCES_NEGATIVES && !J->negatives) continue;
    PetscCall(ds_field_sources_pass(J->sources, (DSSourceSet)set, visit_distance, &visit, 1, plain ? NULL : J->weights[set]));
  }
  PetscCallMPI(MPI_Allreduce(&visit.sum, &total, 1, MPIU_REAL, MPI_SUM, f->comm));
  if (plain) *s = total / ((PetscReal)f->global_count * (f->global_count + f->target->samples_global));
  else *s = total / ((PetscReal)f->global_count * J->weight_total);
  PetscFunctionReturn(0);
}

/* The field of the temperatures; a temperature whose field vanishes everywhere (RMS 0)
   contributes nothing to the exact and tutorial fields. The bandwidths are s tau (or
   max(s, 1e-3) tau), so h is not used. */
static PetscErrorCode evaluate_multitemperature(DSField f, PetscReal h, const PetscReal *x, PetscReal *v)
{
  Multitemperature *M     = (Multitemperature *)f->data;
  const PetscInt    n     = f->local_count * f->dim;
  const PetscBool   large = M->joint.floor == DS_JOINT_FLOOR_LARGE_SCALE ? PETSC_TRUE : PETSC_FALSE;
  PetscReal         s, unit, coordinate_scale;

  PetscFunctionBeginUser;
  ds_field_sources_load(f, M->joint.sources, x);
  PetscCall(distance_scale(f, &M->joint, &s));
  f->diagnostic_values[M->scale_slot] = s;
  unit             = large ? PetscMax(s, DS_LARGE_SCALE_SCALE_FLOOR) : s;
  coordinate_scale = large ? PetscMax(s / PetscSqrtReal((PetscReal)f->dim), DS_LARGE_SCALE_SCALE_FLOOR) : s / PetscSqrtReal((PetscReal)f->dim);
  PetscCall(PetscArrayzero(v, n));
  for (PetscInt k = 0; k < M->ntemperatures; k++) {
    PetscReal rms, norm;
    PetscCall(ds_joint_compute(f, &M->joint, unit * M->temperatures[k], unit, M->field_at_temperature));
    PetscCall(ds_field_rms(f, M->field_at_temperature, &rms));
    f->diagnostic_values[M->rms_slot[k]] = rms;
    if (f->want_diagnostics) PetscCall(ds_joint_floor_diagnostics(f, &M->joint, M->floor_slots[k]));
    norm = large ? coordinate_scale * PetscSqrtReal(PetscMax(PetscSqr(rms / coordinate_scale), DS_LARGE_SCALE_RMS_FLOOR)) : rms;
    if (norm > 0)
      for (PetscInt i = 0; i < n; i++) v[i] += M->field_at_temperature[i] / norm;
  }
  for (PetscInt i = 0; i < n; i++) v[i] *= coordinate_scale;
  PetscFunctionReturn(0);
}

static PetscErrorCode destroy_multitemperature(DSField f)
{
  Multitemperature *M = (Multitemperature *)f->data;

  PetscFunctionBeginUser;
  PetscCall(PetscFree(M->field_at_temperature));
  PetscCall(ds_joint_destroy(f));
  PetscFunctionReturn(0);
}

static PetscErrorCode create_multitemperature(DSField f)
{
  Multitemperature *M;

  PetscFunctionBeginUser;
  PetscCall(ds_joint_create(f, sizeof(Multitemperature)));
  M                = (Multitemperature *)f->data;
  f->ops.destroy   = destroy_multitemperature;
  M->ntemperatures = f->opts->ntemperatures;
  PetscCall(PetscArraycpy(M->temperatures, f->opts->temperatures, DS_MAX_TEMPERATURES));
  PetscCall(PetscMalloc1(f->dim * PetscMax(f->local_count, 1), &M->field_at_temperature));
  PetscCall(ds_field_declare_diagnostic(f, "distance_scale", &M->scale_slot));
  for (PetscInt k = 0; k < M->ntemperatures; k++) {
    char name[64];
    snprintf(name, sizeof(name), "rms_tau_%g", (double)M->temperatures[k]);
    PetscCall(ds_field_declare_diagnostic(f, name, &M->rms_slot[k]));
    snprintf(name, sizeof(name), "_tau_%g", (double)M->temperatures[k]);
    PetscCall(ds_joint_declare_floor_diagnostics(f, &M->joint, name, M->floor_slots[k]));
  }
  f->ops.evaluate = evaluate_multitemperature;
  PetscFunctionReturn(0);
}

/* The type as the registry and the options see it (ds_field.h). Every type file ends with
   its create function (filling the ops table) and this description, so those ends look
   alike across src/fields/ by design: they are the registry's interface, not shared logic. */
const DSFieldTypeInfo ds_field_multitemperature = {
  .name                = "multitemperature",
  .create              = create_multitemperature,
  .default_kernel      = DS_KERNEL_LAPLACE,
  .excludes_self       = PETSC_TRUE,
  .needs_samples       = PETSC_TRUE,
  .scale               = "sets its bandwidths from the mean distance and -drift_temperatures",
  .takes_temperatures  = PETSC_TRUE,
  .joint_columns       = PETSC_TRUE,
  .default_joint_floor = DS_JOINT_FLOOR_LARGE_SCALE,
  .guard_speed         = DS_GUARD_SPEED_MULTITEMPERATURE,
};

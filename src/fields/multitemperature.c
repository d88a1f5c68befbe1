/* The multitemperature field of the official large-scale code (SCIENCE.md item 4): with s
   the mean distance |x_i - c| over every particle i and every column c (the particles,
   the self pair included at distance 0, and the samples), and V^tau the joint field
   (joint.h) with bandwidth s tau for each temperature tau,
     V = (s / sqrt(d)) sum_tau V^tau / RMS(V^tau),  RMS(V^tau) = sqrt(1/(N d) sum_i |V^tau_i|^2).
   Its own diagnostics are s (distance_scale) and each RMS(V^tau) (rms_tau_<tau>). */
#include <stdio.h>
#include "joint.h"

typedef struct {
  DSJoint    joint; /* first: the joint type's state and destroy */
  PetscReal *field_at_temperature; /* [local_count][d] */
  PetscInt   ntemperatures;
  PetscReal  temperatures[DS_MAX_TEMPERATURES];
  PetscInt   scale_slot, rms_slot[DS_MAX_TEMPERATURES]; /* diagnostics' slots */
} Multitemperature;

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

/* s = mean of |x_i - c| over every particle i and every column c. */
static PetscErrorCode distance_scale(DSField f, DSFieldSources *sources, PetscReal *s)
{
  DistanceVisit visit = {f, &sources->block[DS_SOURCES_PARTICLES], 0.0};
  PetscReal     total;

  PetscFunctionBeginUser;
  PetscCall(ds_field_sources_pass(sources, DS_SOURCES_PARTICLES, visit_distance, &visit, NULL));
  PetscCall(ds_field_sources_pass(sources, DS_SOURCES_DATA, visit_distance, &visit, NULL));
  PetscCallMPI(MPI_Allreduce(&visit.sum, &total, 1, MPIU_REAL, MPI_SUM, f->comm));
  *s = total / ((PetscReal)f->global_count * (f->global_count + f->target->samples_global));
  PetscFunctionReturn(0);
}

/* V = (s / sqrt(d)) sum_tau V^tau / RMS(V^tau); a temperature whose field vanishes
   everywhere (RMS 0) contributes nothing. The bandwidths are s tau, so h is not used. */
static PetscErrorCode evaluate_multitemperature(DSField f, PetscReal h, const PetscReal *x, PetscReal *v)
{
  Multitemperature *M = (Multitemperature *)f->data;
  const PetscInt    n = f->local_count * f->dim;
  PetscReal         s;

  PetscFunctionBeginUser;
  ds_field_sources_load(f, M->joint.sources, x);
  PetscCall(distance_scale(f, M->joint.sources, &s));
  f->diagnostic_values[M->scale_slot] = s;
  PetscCall(PetscArrayzero(v, n));
  for (PetscInt k = 0; k < M->ntemperatures; k++) {
    PetscReal rms;
    PetscCall(ds_joint_compute(f, &M->joint, s * M->temperatures[k], M->field_at_temperature));
    PetscCall(ds_field_rms(f, M->field_at_temperature, &rms));
    f->diagnostic_values[M->rms_slot[k]] = rms;
    if (rms > 0)
      for (PetscInt i = 0; i < n; i++) v[i] += M->field_at_temperature[i] / rms;
  }
  for (PetscInt i = 0; i < n; i++) v[i] *= s / PetscSqrtReal((PetscReal)f->dim);
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
  M->ntemperatures = f->opts->ntemperatures;
  PetscCall(PetscArraycpy(M->temperatures, f->opts->temperatures, DS_MAX_TEMPERATURES));
  PetscCall(PetscMalloc1(f->dim * PetscMax(f->local_count, 1), &M->field_at_temperature));
  PetscCall(ds_field_declare_diagnostic(f, "distance_scale", &M->scale_slot));
  for (PetscInt k = 0; k < M->ntemperatures; k++) {
    char name[64];
    snprintf(name, sizeof(name), "rms_tau_%g", (double)M->temperatures[k]);
    PetscCall(ds_field_declare_diagnostic(f, name, &M->rms_slot[k]));
  }
  f->ops.evaluate = evaluate_multitemperature;
  f->ops.destroy  = destroy_multitemperature;
  PetscFunctionReturn(0);
}

/* The type as the registry and the options see it (ds_field.h). Every type file ends with
   its create function (filling the ops table) and this description, so those ends look
   alike across src/fields/ by design: they are the registry's interface, not shared logic. */
const DSFieldTypeInfo ds_field_multitemperature = {
  .name               = "multitemperature",
  .create             = create_multitemperature,
  .default_kernel     = DS_KERNEL_LAPLACE,
  .excludes_self      = PETSC_TRUE,
  .needs_samples      = PETSC_TRUE,
  .takes_temperatures = PETSC_TRUE,
};

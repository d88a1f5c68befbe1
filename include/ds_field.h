/* Velocity fields of SCIENCE.md as objects with an ops table, created by name through a
   registry (PETSc's TSSetType pattern). Built in: conservative (KDE gradient),
   displacement (mean shift, per-particle normalisation), joint (row and column
   normalisation, the official implementation) and multitemperature (joint fields at
   temperatures tau of the mean distance, each normalised by its RMS). Each type is one
   file of src/fields/ and one line of ds_field_register_all; doc/design.md says how to
   add one. */
#ifndef DS_FIELD_H
#define DS_FIELD_H

#include <petscvec.h>
#include "ds_options.h"
#include "ds_target.h"

typedef struct DSField_ *DSField;

/* At most this many diagnostics of a field's own (ds_field_get_diagnostics). */
#define DS_FIELD_MAX_OWN_DIAGNOSTICS (7 + 6 * DS_MAX_TEMPERATURES) /* multitemperature: s, then per temperature RMS and the floor's 5 */

/* What bounds a field type's largest speed (ds_guard_speed_bound); unknown: no bound. */
typedef enum { DS_GUARD_SPEED_UNKNOWN, DS_GUARD_SPEED_CONSERVATIVE, DS_GUARD_SPEED_DISPLACEMENT, DS_GUARD_SPEED_JOINT, DS_GUARD_SPEED_MULTITEMPERATURE, DS_GUARD_SPEED_SINKHORN } DSGuardSpeed;

/* What a field type asks of the options (checked by ds_field_type_check before any file
   is touched) and how it is made. */
typedef struct {
  const char  *name;            /* the -drift_field value */
  PetscErrorCode (*create)(DSField field); /* fills field->ops and field->data */
  DSKernelType default_kernel;  /* -drift_kernel when not given */
  PetscBool    smooth_kernel;   /* refuses the laplace kernel (needs a gradient at 0) */
  PetscBool    excludes_self;   /* the self pair is excluded by definition (K_ii = 0) */
  PetscBool    needs_samples;   /* refuses an analytic target */
  PetscBool    takes_temperatures; /* reads -drift_temperatures */
  PetscBool    takes_fast_sums; /* may use -drift_sum cutoff, fgt, auto (row-normalised sums) */
  PetscBool    uses_bandwidth;  /* the bandwidth h is the field's (not a function of the state) */
  const char  *scale;           /* what sets the field's scale when it does not use the bandwidth, for messages */
  PetscBool    joint_columns;   /* takes -drift_joint_floor, negatives and per-point weights */
  DSJointFloor default_joint_floor; /* -drift_joint_floor when not given */
  DSGuardSpeed guard_speed;     /* the divergence guard's bound of its speed */
} DSFieldTypeInfo;

/* Adds a field type to the registry; the options accept its name from then on. A type of
   the same name is replaced. `type` must outlive the registry (a static constant). */
PETSC_EXTERN PetscErrorCode ds_field_register(const DSFieldTypeInfo *type);

/* Registers the built-in field types once (idempotent). */
PETSC_EXTERN PetscErrorCode ds_field_register_all(void);

/* The registered type called `name`, or NULL. */
PETSC_EXTERN PetscErrorCode ds_field_type_find(const char name[], const DSFieldTypeInfo **type);

/* The registered names, comma-separated, in registration order (for messages and -help). */
PETSC_EXTERN PetscErrorCode ds_field_type_list(char list[], size_t len);

/* Checks that the options suit their field type (PETSC_ERR_USER_INPUT on every rank,
   naming the option): known name, kernel, self pair, bandwidth schedule, temperatures,
   fast sums. Part of ds_options_validate. */
PETSC_EXTERN PetscErrorCode ds_field_type_check(MPI_Comm comm, const DSOptions *opts);

/* Creates the field named by opts->field for particle Vecs with this rank's `local_count`
   particles (collective). The target is borrowed and must outlive the field. */
PETSC_EXTERN PetscErrorCode ds_field_create(MPI_Comm comm, const DSOptions *opts, DSTarget *target, PetscInt local_count, DSField *field);

/* The field's type. */
PETSC_EXTERN PetscErrorCode ds_field_get_type(DSField field, const DSFieldTypeInfo **type);

/* V = the field at the particles X with bandwidth h (the self pair as the options say). */
PETSC_EXTERN PetscErrorCode ds_field_evaluate(DSField field, PetscReal h, Vec X, Vec V);

/* V = the field of particles X evaluated at query points Z (not particles: no self pair).
   Z and V have block size d and any layout. Refused (PETSC_ERR_SUP) by fields defined at
   the particles only (joint, multitemperature: their columns are normalised over all
   particles). */
PETSC_EXTERN PetscErrorCode ds_field_evaluate_at(DSField field, PetscReal h, Vec X, Vec Z, Vec V);

/* Asks the following evaluations to compute the field's own diagnostics too: for the
   laplace displacement field the companion decomposition, for the multitemperature field
   the distance scale and the unnormalised RMS of each temperature's field. Off at creation. */
PETSC_EXTERN PetscErrorCode ds_field_set_diagnostics(DSField field, PetscBool on);

/* The field's own diagnostics from the last evaluation that computed them: `count` names,
   fixed at creation (0 when the field has none), and their global values:
     laplace displacement: companion_sharp_rms, companion_residual_rms (sqrt(1/N sum_i |term_i|^2)),
                           rho_particles_min, rho_particles_max, rho_data_min, rho_data_max
                           (rho_S(x_i) = sum l / sum k over S, l(r) = (h + r) exp(-r/h))
     multitemperature:     distance_scale (s), rms_tau_<tau> (sqrt(1/(N d) sum_i |V^tau_i|^2))
     joint, multitemperature with a floor (-drift_joint_floor tutorial or large_scale):
                           floor_share_p_mean, floor_share_p_max, floor_share_q_mean,
                           floor_share_q_max, floor_pairs (suffix _tau_<tau> for
                           multitemperature): the floor's share of P_i and Q_i, mean and
                           maximum over particles, and the pairs at the floor
   Values are NaN before any evaluation computed them. */
PETSC_EXTERN PetscErrorCode ds_field_get_diagnostics(DSField field, PetscInt *count, const char *const **names, const PetscReal **values);

/* The value of the field's own diagnostic called `name` (as ds_field_get_diagnostics);
   PETSC_ERR_ARG_OUTOFRANGE when the field has no such diagnostic. */
PETSC_EXTERN PetscErrorCode ds_field_get_diagnostic(DSField field, const char name[], PetscReal *value);

/* Laplace displacement field with samples only: V at the particles X and its companion
   decomposition V = sharp + residual (SCIENCE.md), sharp = h rho_X [grad log(l*Y) - grad log(l*X)],
   residual = h (rho_Y - rho_X) grad log(l*Y), all evaluated at the particles. */
PETSC_EXTERN PetscErrorCode ds_field_evaluate_companion(DSField field, PetscReal h, Vec X, Vec V, Vec sharp, Vec residual);

/* Pair interactions (one (i, j) contribution to the kernel sums) done by this rank so far. */
PETSC_EXTERN PetscErrorCode ds_field_get_pair_count(DSField field, PetscLogDouble *pairs);

/* Frees the field. */
PETSC_EXTERN PetscErrorCode ds_field_destroy(DSField *field);

#endif

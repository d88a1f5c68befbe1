/* Run options: every -drift_* option, read and validated in one place (ds_options.c). */
#ifndef DS_OPTIONS_H
#define DS_OPTIONS_H

#include <petscsys.h>

typedef enum { DS_FIELD_CONSERVATIVE, DS_FIELD_DISPLACEMENT, DS_FIELD_JOINT, DS_FIELD_MULTITEMPERATURE } DSFieldType;
typedef enum { DS_KERNEL_GAUSSIAN, DS_KERNEL_LAPLACE, DS_KERNEL_IMQ } DSKernelType;
typedef enum { DS_SELF_INCLUDE, DS_SELF_EXCLUDE } DSSelfPair;
typedef enum {
  DS_TARGET_GAUSSIAN,
  DS_TARGET_GMM8,
  DS_TARGET_CHECKERBOARD,
  DS_TARGET_SWISSROLL,
  DS_TARGET_MOONS,
  DS_TARGET_RINGS
} DSTargetType;
typedef enum { DS_INIT_GAUSSIAN, DS_INIT_UNIFORM } DSInitType;
typedef enum { DS_BANDWIDTH_FIXED, DS_BANDWIDTH_RATE, DS_BANDWIDTH_SILVERMAN, DS_BANDWIDTH_SCOTT, DS_BANDWIDTH_MEDIAN } DSBandwidthRule;

#define DS_MAX_TEMPERATURES 16

/* Name tables in PETSc's enum-list form (names, then type name, prefix, NULL). */
PETSC_EXTERN const char *const DSFieldTypes[];
PETSC_EXTERN const char *const DSKernelTypes[];
PETSC_EXTERN const char *const DSSelfPairs[];
PETSC_EXTERN const char *const DSTargetTypes[];
PETSC_EXTERN const char *const DSInitTypes[];
PETSC_EXTERN const char *const DSBandwidthRules[];

typedef struct {
  PetscInt     n;              /* -drift_n: particle count N */
  PetscInt     dim;            /* -drift_dim: dimension d */
  PetscInt     seed;           /* -drift_seed: key of the counter-based generator */
  DSFieldType  field;          /* -drift_field */
  DSKernelType kernel;         /* -drift_kernel */
  PetscReal    bandwidth;      /* -drift_bandwidth: h (the fixed rule's value) */
  DSBandwidthRule bandwidth_rule; /* -drift_bandwidth_rule */
  PetscReal    bandwidth_scale;   /* -drift_bandwidth_scale: c of the rate rule h = c N^(-1/(d+4)) */
  PetscInt     bandwidth_pairs;   /* -drift_bandwidth_pairs: pairs sampled by the median rule */
  PetscReal    bandwidth_anneal;  /* -drift_bandwidth_anneal: r of h(t) = max(h_min, h0 exp(-r t)); 0 = none */
  PetscReal    bandwidth_min;     /* -drift_bandwidth_min: h_min of the annealing */
  PetscInt     ntemperatures;     /* -drift_temperatures: how many (multitemperature field) */
  PetscReal    temperatures[DS_MAX_TEMPERATURES];
  PetscReal    imq_beta;       /* -drift_imq_beta: exponent of the imq kernel */
  DSSelfPair   self;           /* -drift_self: the j = i pair in particle sums */
  DSTargetType target;         /* -drift_target */
  PetscInt     target_samples; /* -drift_target_samples: M, 0 = analytic density */
  PetscReal    target_scale;   /* -drift_target_scale */
  PetscBool    replicate_data; /* -drift_replicate_data: every rank keeps all M samples */
  DSInitType   init;           /* -drift_init */
  PetscReal    init_mean;      /* -drift_init_mean: every coordinate of the mean */
  PetscReal    init_scale;     /* -drift_init_scale: std (gaussian) or half-width (uniform) */
  char         output[PETSC_MAX_PATH_LEN]; /* -drift_output: HDF5 file, "" = none */
  PetscInt     output_every;   /* -drift_output_every: steps between particle snapshots */
  PetscBool    output_velocity;/* -drift_output_velocity */
  PetscInt     monitor_every;  /* -drift_monitor: steps between progress lines, 0 = silent */
} DSOptions;

/* Reads and validates every -drift_* option (collective). A bad value raises
   PETSC_ERR_USER_INPUT with a message naming the option, the value and what is allowed. */
PETSC_EXTERN PetscErrorCode ds_options_read(MPI_Comm comm, DSOptions *opts);

/* True when the target has a density that can be used analytically (gaussian, gmm8). */
PETSC_EXTERN PetscBool ds_target_has_density(DSTargetType target);

/* True when the target exists only in two dimensions. */
PETSC_EXTERN PetscBool ds_target_is_planar(DSTargetType target);

#endif

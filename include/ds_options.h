/* Run options: every -drift_* option, defaulted, read and validated in one place (options.c). */
#ifndef DS_OPTIONS_H
#define DS_OPTIONS_H

#include <petscsys.h>
#include "ds_isa.h"

typedef enum { DS_KERNEL_GAUSSIAN, DS_KERNEL_LAPLACE, DS_KERNEL_IMQ } DSKernelType;
typedef enum { DS_SELF_INCLUDE, DS_SELF_EXCLUDE } DSSelfPair;
/* How the particle-particle kernel sums visit the pairs: every ordered pair on a full ring,
   or each unordered pair once, for both particles, on a half ring (ds_ring_pass_symmetric). */
typedef enum { DS_PAIRS_FULL, DS_PAIRS_SYMMETRIC } DSPairSchedule;
/* How the row-normalised fields' kernel sums are computed: every pair; cell lists dropping
   the pairs below the tolerance; the fast Gauss transform (ds_fgt.h); or the cheapest of
   those that apply, by a cost model, at each evaluation. */
typedef enum { DS_SUM_EXACT, DS_SUM_CUTOFF, DS_SUM_FGT, DS_SUM_AUTO } DSSumMethod;
typedef enum {
  DS_TARGET_GAUSSIAN,
  DS_TARGET_GMM8,
  DS_TARGET_CHECKERBOARD,
  DS_TARGET_SWISSROLL,
  DS_TARGET_MOONS,
  DS_TARGET_RINGS,
  DS_TARGET_FILE
} DSTargetType;
typedef enum { DS_INIT_GAUSSIAN, DS_INIT_UNIFORM, DS_INIT_FILE } DSInitType;
typedef enum { DS_BANDWIDTH_FIXED, DS_BANDWIDTH_RATE, DS_BANDWIDTH_SILVERMAN, DS_BANDWIDTH_SCOTT, DS_BANDWIDTH_MEDIAN } DSBandwidthRule;
/* How the joint fields treat small values (SCIENCE.md, "The official codes' floors"):
   exact is items 3 and 4 as written; tutorial the authors' 2-D tutorial (compute_drift:
   normaliser floor, self pair at distance 1e6); large_scale their large-scale code
   (drift_loss: affinity floor, distance clamp, self pair at +100 scales, weighted scale
   and the RMS and scale clamps). */
typedef enum { DS_JOINT_FLOOR_EXACT, DS_JOINT_FLOOR_TUTORIAL, DS_JOINT_FLOOR_LARGE_SCALE } DSJointFloor;
/* The transport cost of the Sinkhorn field and divergence: |x - y|^2 / 2 or |x - y|. */
typedef enum { DS_SINKHORN_COST_SQUARED, DS_SINKHORN_COST_EUCLIDEAN } DSSinkhornCost;
/* The column sets of the joint fields: the particles, the explicit negative samples, the
   target samples (data). */
typedef enum { DS_COLUMNS_PARTICLES, DS_COLUMNS_NEGATIVES, DS_COLUMNS_DATA } DSColumnSet;
#define DS_COLUMN_SETS 3

#define DS_MAX_TEMPERATURES 16
#define DS_MAX_ECF_SHELLS   16

/* Groups of monitored diagnostics (-drift_diagnostics), as bits of DSOptions.diagnostics. */
typedef enum {
  DS_DIAGNOSTIC_MMD2      = 1 << 0, /* mmd2 */
  DS_DIAGNOSTIC_ENERGY    = 1 << 1, /* energy_distance */
  DS_DIAGNOSTIC_SLICED_W2 = 1 << 2, /* sliced_w2 */
  DS_DIAGNOSTIC_KDE       = 1 << 3, /* reciprocal_kde, self_interaction, min_occupancy */
  DS_DIAGNOSTIC_MIXTURE   = 1 << 4, /* mean_error, covariance_error, mode_coverage */
  DS_DIAGNOSTIC_THEOREM   = 1 << 5, /* the theorem's time averages, stein_drift, fisher, identity, excess */
  DS_DIAGNOSTIC_SINKHORN  = 1 << 6, /* sinkhorn_divergence */
  DS_DIAGNOSTIC_ECF       = 1 << 7  /* ecf_error_K<K>, ecf_floor_K<K> for the shells of -drift_ecf_shells */
} DSDiagnosticGroup;
PETSC_EXTERN const char *const DSDiagnosticGroups[]; /* names of the bits, in bit order */
#define DS_DIAGNOSTIC_GROUPS 8
/* The groups on by default: every one but sinkhorn, whose iterations cost many times the
   other distances' pairs (asked for by name, or by all). */
#define DS_DIAGNOSTICS_DEFAULT (((1 << DS_DIAGNOSTIC_GROUPS) - 1) & ~DS_DIAGNOSTIC_SINKHORN)

/* Name tables in PETSc's enum-list form (names, then type name, prefix, NULL). */
PETSC_EXTERN const char *const DSKernelTypes[];
PETSC_EXTERN const char *const DSSelfPairs[];
PETSC_EXTERN const char *const DSTargetTypes[];
PETSC_EXTERN const char *const DSInitTypes[];
PETSC_EXTERN const char *const DSBandwidthRules[];
PETSC_EXTERN const char *const DSJointFloors[];
PETSC_EXTERN const char *const DSSinkhornCosts[];
PETSC_EXTERN const char *const DSPairSchedules[];
PETSC_EXTERN const char *const DSSumMethods[];
PETSC_EXTERN const char *const DSColumnSets[]; /* "particle", "negatives", "data": the weights options' prefixes */

typedef struct {
  PetscInt     n;              /* -drift_n: particle count N (from the file with -drift_init file) */
  PetscBool    n_given;        /* -drift_n was given */
  PetscInt     dim;            /* -drift_dim: dimension d */
  PetscInt     seed;           /* -drift_seed: key of the counter-based generator */
  char         field[64];      /* -drift_field: the name of a registered field type (ds_field.h) */
  DSKernelType kernel;         /* -drift_kernel */
  PetscReal    bandwidth;      /* -drift_bandwidth: h (the fixed rule's value) */
  DSBandwidthRule bandwidth_rule; /* -drift_bandwidth_rule */
  PetscReal    bandwidth_scale;   /* -drift_bandwidth_scale: c of the rate rule h = c N^(-1/(d+4)) */
  PetscInt     bandwidth_pairs;   /* -drift_bandwidth_pairs: pairs sampled by the median rule */
  PetscReal    bandwidth_anneal;  /* -drift_bandwidth_anneal: r of h(t) = max(h_min, h0 exp(-r t)); 0 = none */
  PetscBool    bandwidth_anneal_given; /* -drift_bandwidth_anneal was given (0 included) */
  PetscReal    bandwidth_min;     /* -drift_bandwidth_min: h_min of the annealing */
  PetscInt     ntemperatures;     /* -drift_temperatures: how many (multitemperature field) */
  PetscReal    temperatures[DS_MAX_TEMPERATURES];
  PetscBool    temperatures_given; /* -drift_temperatures was given */
  PetscReal    imq_beta;       /* -drift_imq_beta: exponent of the imq kernel */
  DSSumMethod  sum;            /* -drift_sum: exact, cutoff, fgt or auto (-drift_cutoff_tol eps: cutoff with tolerance eps) */
  PetscReal    sum_tol;        /* -drift_sum_tol: eps; every sum of n sources within eps n (values) and eps h n (moments) */
  DSSelfPair   self;           /* -drift_self: the j = i pair in particle sums */
  DSPairSchedule pair_schedule; /* -drift_pair_schedule: full or symmetric particle-particle sums */
  DSIsa          isa;           /* -drift_isa: the pair loops' ISA level, DS_ISA_AUTO = the best every rank runs */
  DSTargetType target;         /* -drift_target */
  PetscInt     target_samples; /* -drift_target_samples: M, 0 = analytic density (from the file with -drift_target file) */
  PetscBool    target_samples_given; /* -drift_target_samples was given */
  char         target_file[PETSC_MAX_PATH_LEN]; /* -drift_target_file: HDF5 file of samples [M][d] */
  char         target_dataset[PETSC_MAX_PATH_LEN]; /* -drift_target_dataset: its dataset */
  PetscReal    target_scale;   /* -drift_target_scale */
  PetscBool    replicate_data; /* -drift_replicate_data: every rank keeps all M samples (and the negatives) */
  DSJointFloor joint_floor;    /* -drift_joint_floor: the joint fields' floors */
  PetscBool    joint_floor_given; /* -drift_joint_floor was given */
  char         negatives_file[PETSC_MAX_PATH_LEN];    /* -drift_negatives_file: HDF5 file of negative samples [C][d], "" = none */
  char         negatives_dataset[PETSC_MAX_PATH_LEN]; /* -drift_negatives_dataset: its dataset */
  char         weights_file[DS_COLUMN_SETS][PETSC_MAX_PATH_LEN];    /* -drift_<set>_weights_file: HDF5 file of per-point weights, "" = all 1 */
  char         weights_dataset[DS_COLUMN_SETS][PETSC_MAX_PATH_LEN]; /* -drift_<set>_weights_dataset: its 1-D dataset */
  DSInitType   init;           /* -drift_init */
  PetscReal    init_mean;      /* -drift_init_mean: every coordinate of the mean */
  PetscReal    init_scale;     /* -drift_init_scale: std (gaussian) or half-width (uniform) */
  char         init_file[PETSC_MAX_PATH_LEN];    /* -drift_init_file: HDF5 file of the initial cloud [N][d] */
  char         init_dataset[PETSC_MAX_PATH_LEN]; /* -drift_init_dataset: its dataset */
  char         output[PETSC_MAX_PATH_LEN]; /* -drift_output: HDF5 file, "" = none */
  PetscBool    output_given;   /* -drift_output was given (an empty name is refused) */
  PetscInt     output_every;   /* -drift_output_every: steps between particle snapshots */
  PetscBool    output_velocity;/* -drift_output_velocity */
  PetscInt     monitor_every;  /* -drift_monitor: steps between progress lines, 0 = silent */
  PetscInt     diagnostics_every;    /* -drift_diagnostics_every: steps between diagnostics rows */
  PetscInt     diagnostics;          /* -drift_diagnostics: DSDiagnosticGroup bits switched on */
  PetscReal    mmd_bandwidth;        /* -drift_mmd_bandwidth: gaussian kernel bandwidth of mmd2 */
  PetscInt     sliced_w2_projections;/* -drift_sliced_w2_projections: directions L */
  PetscInt     diagnostics_samples;  /* -drift_diagnostics_samples: samples drawn from an analytic target; 0 = N */
  PetscInt     fisher_draws;         /* -drift_fisher_draws: Q of the Fisher discrepancy's Monte Carlo; 0 = not computed */
  PetscInt     kl_draws;             /* -drift_kl_draws: draws of the initial KL's Monte Carlo (no closed form) */
  PetscReal    sinkhorn_epsilon;      /* -drift_sinkhorn_epsilon: eps of the sinkhorn field */
  PetscBool    sinkhorn_epsilon_given;
  PetscReal    sinkhorn_divergence_epsilon; /* -drift_sinkhorn_divergence_epsilon: eps of sinkhorn_divergence */
  PetscBool    sinkhorn_divergence_epsilon_given;
  DSSinkhornCost sinkhorn_cost;       /* -drift_sinkhorn_cost */
  PetscReal    sinkhorn_tol;          /* -drift_sinkhorn_tol: marginal error at which a solve stops */
  PetscInt     sinkhorn_max_iterations; /* -drift_sinkhorn_max_iterations: per solve */
  PetscReal    sinkhorn_scaling;      /* -drift_sinkhorn_scaling: eps-scaling factor of a cold start, 0 = none */
  PetscBool    sinkhorn_warm_start;   /* -drift_sinkhorn_warm_start: each solve starts from the last one's potentials */
  PetscBool    sinkhorn_extrapolate;  /* -drift_sinkhorn_extrapolate: a warm start extrapolates g geometrically */
  PetscInt     sinkhorn_anderson_memory; /* -drift_sinkhorn_anderson_memory: Anderson mixing's differences, 0 = none */
  PetscBool    sinkhorn_allow_unconverged; /* -drift_sinkhorn_allow_unconverged: max iterations reached is not an error */
  PetscBool    sinkhorn_solver_given; /* one of the solver options from -drift_sinkhorn_cost on was given */
  PetscInt     necf_shells;           /* -drift_ecf_shells: how many (0 = no ecf diagnostics) */
  PetscReal    ecf_shells[DS_MAX_ECF_SHELLS]; /* their radii K */
  PetscInt     ecf_directions;        /* -drift_ecf_directions: L per shell */
  PetscBool    ecf_directions_given;
  char         checkpoint[PETSC_MAX_PATH_LEN]; /* -drift_checkpoint: checkpoint file, "" = none */
  PetscInt     checkpoint_every;     /* -drift_checkpoint_every: steps between checkpoints, 0 = none */
  PetscReal    checkpoint_seconds;   /* -drift_checkpoint_seconds: wall seconds between checkpoints, 0 = none */
  char         restart[PETSC_MAX_PATH_LEN];    /* -drift_restart: checkpoint to continue from, "" = none */
} DSOptions;

/* Fills opts with every option's default, the ones the program starts from. The kernel, the
   self pair and M default to what the default field and target take (see ds_options_read). */
PETSC_EXTERN PetscErrorCode ds_options_set_defaults(DSOptions *opts);

/* Reads every -drift_* option of the options database over opts (collective), which holds
   the defaults (ds_options_set_defaults) and are shown by -help. The kernel, the self pair
   and M take the defaults of the field and target read unless given. A value that does not
   parse or is out of its option's range raises PETSC_ERR_USER_INPUT with a message naming
   the option, the text given and what is allowed. */
PETSC_EXTERN PetscErrorCode ds_options_read(MPI_Comm comm, DSOptions *opts);

/* Checks the rules between options of opts, however it was filled (collective: raises
   PETSC_ERR_USER_INPUT on every rank of comm with a message naming the options when a rule
   is broken). The program reads, then validates, before anything is written. */
PETSC_EXTERN PetscErrorCode ds_options_validate(MPI_Comm comm, const DSOptions *opts);

/* Refuses (PETSC_ERR_USER_INPUT, collective) sizes whose entries PetscInt cannot index
   (PETSC_MAX_INT; 2^31 - 1 with 32-bit indices): N d, M d, the diagnostics samples, the
   sliced_w2 directions, the median rule's pairs and the Fisher draws N Q d; the message
   names the options, the limit and a PETSc configured --with-64-bit-indices as the way to
   lift it. Part of ds_options_validate; called again once N is a file's row count. */
PETSC_EXTERN PetscErrorCode ds_options_check_index_width(MPI_Comm comm, const DSOptions *opts);

/* Whether -drift_sum's fast sums are used: a method other than exact and d <= 3 (the cells
   and the transform serve dimensions 1 to 3; -drift_sum cutoff or auto in higher dimensions
   sums every pair). */
PETSC_EXTERN PetscBool ds_options_fast_sums_apply(const DSOptions *opts);

/* The rules of -drift_sum other than exact (collective, PETSC_ERR_USER_INPUT naming the
   option): a tolerance in (0, 1), a kernel that decays fast, and for fgt the gaussian
   kernel, d <= 3 and a tolerance of at least 1e-14. Part of ds_options_validate. */
PETSC_EXTERN PetscErrorCode ds_options_check_sums(MPI_Comm comm, const DSOptions *opts);

/* Says once, on rank 0 of comm (stdout, "driftsim: note: ..." lines), each option given that
   the run cannot honour as asked (today -drift_sum cutoff or auto with d >= 4, and the
   old spelling -drift_cutoff_tol) and each default the
   run chose for the user (the M samples that stand in for an analytic target's density
   when the field needs samples). Collective. */
PETSC_EXTERN PetscErrorCode ds_options_say_notes(MPI_Comm comm, const DSOptions *opts);

/* The temperatures as the user would type them: "0.02,0.05,0.2" (%.15g each), "" for none;
   for the output's attribute and a checkpoint's run description. Local. */
PETSC_EXTERN PetscErrorCode ds_options_temperatures_text(const DSOptions *opts, char text[], size_t len);

#endif

/* Every -drift_* option into one DSOptions (DESIGN.md: options), in three steps: the
   defaults (ds_options_set_defaults), reading the options database over them
   (ds_options_read: each value parsed and range-checked as given, the message quoting the
   text), and the rules between options (ds_options_validate in options_rules.c, on a
   DSOptions from anywhere).
   Every message names the option, the value given and what is allowed. The options database
   is the same on every rank, so every verdict here is collective without communication. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "ds_options.h"
#include "ds_field.h"
#include "ds_target.h"
#include "ds_ecf.h"

const char *const DSKernelTypes[] = {"gaussian", "laplace", "imq", "DSKernelType", "DS_KERNEL_", NULL};
const char *const DSSelfPairs[]   = {"include", "exclude", "DSSelfPair", "DS_SELF_", NULL};
const char *const DSTargetTypes[] = {"gaussian", "gmm8", "checkerboard", "swissroll", "moons", "rings", "file", "DSTargetType", "DS_TARGET_", NULL};
const char *const DSInitTypes[]   = {"gaussian", "uniform", "file", "DSInitType", "DS_INIT_", NULL};
const char *const DSDiagnosticGroups[] = {"mmd2", "energy_distance", "sliced_w2", "kde", "mixture", "theorem", "sinkhorn", "ecf"};
const char *const DSBandwidthRules[] = {"fixed", "rate", "silverman", "scott", "median", "DSBandwidthRule", "DS_BANDWIDTH_", NULL};
const char *const DSJointFloors[]    = {"exact", "tutorial", "large_scale", "DSJointFloor", "DS_JOINT_FLOOR_", NULL};
const char *const DSColumnSets[]     = {"particle", "negatives", "data"};
const char *const DSSinkhornCosts[]  = {"squared", "euclidean", "DSSinkhornCost", "DS_SINKHORN_COST_", NULL};
const char *const DSPairSchedules[]  = {"full", "symmetric", "DSPairSchedule", "DS_PAIRS_", NULL};
const char *const DSSumMethods[]     = {"exact", "cutoff", "fgt", "auto", "DSSumMethod", "DS_SUM_", NULL};

/* Number of names in a PETSc enum list (names, type name, prefix, NULL). */
static PetscInt choice_count(const char *const *list)
{
  PetscInt n = 0;
  while (list[n]) n++;
  return n - 2;
}

/* "a, b, c": the allowed values of a choice option, for messages. */
static void choice_names(const char *const *list, char *buf, size_t len)
{
  buf[0] = 0;
  for (PetscInt i = 0; i < choice_count(list); i++) {
    if (i) strncat(buf, ", ", len - strlen(buf) - 1);
    strncat(buf, list[i], len - strlen(buf) - 1);
  }
}

/* Refuses an option given without a value (`-drift_n ""`, or a bare -drift_n): PETSc would
   report it as not set, and the default would be used without a word. */
static PetscErrorCode refuse_empty(MPI_Comm comm, const char *name)
{
  const char *value = NULL;
  PetscBool   found = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsFindPair(NULL, NULL, name, &value, &found));
  PetscCheck(!found || (value && value[0]), comm, PETSC_ERR_USER_INPUT, "%s is given without a value: give one, or leave the option out for its default", name);
  PetscFunctionReturn(0);
}

/* Reads a choice option given by name; an unknown value is refused with the allowed ones. */
static PetscErrorCode read_choice(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char *name, const char *help, const char *const *list, int *value, PetscBool *set)
{
  char      given[256], allowed[512], described[1024];
  PetscBool found;

  PetscFunctionBeginUser;
  PetscCall(refuse_empty(comm, name));
  choice_names(list, allowed, sizeof(allowed));
  PetscCall(PetscSNPrintf(described, sizeof(described), "%s (one of: %s)", help, allowed));
  PetscCall(PetscStrncpy(given, list[*value], sizeof(given)));
  PetscCall(PetscOptionsString(name, described, NULL, given, given, sizeof(given), &found));
  for (PetscInt i = 0; i < choice_count(list); i++) {
    PetscBool match;
    PetscCall(PetscStrcasecmp(given, list[i], &match));
    if (match) {
      *value = (int)i;
      if (set) *set = found;
      PetscFunctionReturn(0);
    }
  }
  SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s %s is not known; allowed: %s", name, given, allowed);
}

/* The text the user gave for an option (for messages that quote it exactly). */
static void option_text(const char *name, char *buf, size_t len)
{
  PetscBool set = PETSC_FALSE;
  buf[0]        = 0;
  if (PetscOptionsGetString(NULL, NULL, name, buf, len, &set) || !set || !buf[0]) PetscStrncpy(buf, "(no value)", len);
}

/* Refuses an option whose value PETSc could not parse (parse_error != 0) as `what`. */
static PetscErrorCode refuse_unparsed(MPI_Comm comm, const char *name, PetscErrorCode parse_error, const char *what)
{
  char text[256];

  PetscFunctionBeginUser;
  if (!parse_error) PetscFunctionReturn(0);
  option_text(name, text, sizeof(text));
  SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s %s is not %s", name, text, what);
}

/* Reads an integer option and, when given, checks lo <= value <= hi; a number too large for
   PetscInt (PETSc wraps it) is out of range too. Messages quote the text given. read_int and
   read_real have the same shape but call different PETSc macros (PetscOptionsInt,
   PetscOptionsReal, which expand with PetscOptionsObject and differ in type) and check
   different ranges, so a shared reader would need a type switch in place of the two. */
static PetscErrorCode read_int(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char *name, const char *help, PetscInt lo, PetscInt hi, PetscInt *value, PetscBool *set)
{
  PetscErrorCode ierr;
  PetscBool      given = PETSC_FALSE;
  char           text[256], *end;

  PetscFunctionBeginUser;
  PetscCall(refuse_empty(comm, name));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = PetscOptionsInt(name, help, NULL, *value, value, &given);
  PetscCall(PetscPopErrorHandler());
  PetscCall(refuse_unparsed(comm, name, ierr, "an integer"));
  if (set) *set = given;
  if (!given) PetscFunctionReturn(0);
  option_text(name, text, sizeof(text));
  errno                 = 0;
  const long long typed = strtoll(text, &end, 10);
  const PetscBool wrapped = (end != text && !*end && (errno == ERANGE || typed != (long long)*value)) ? PETSC_TRUE : PETSC_FALSE;
  if (!wrapped && *value >= lo && *value <= hi) PetscFunctionReturn(0);
  if (hi == PETSC_MAX_INT) SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s %s is out of range: it must be in [%" PetscInt_FMT ", %" PetscInt_FMT "] (%" PetscInt_FMT " is the largest index of this PETSc build)", name, text, lo, hi, hi);
  SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s %s is out of range: it must be in [%" PetscInt_FMT ", %" PetscInt_FMT "]", name, text, lo, hi);
}

/* Reads a real option and, when given, checks it is finite and > lo (strict) or >= lo. */
static PetscErrorCode read_real(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char *name, const char *help, PetscReal lo, PetscBool strict, PetscReal *value, PetscBool *set)
{
  PetscErrorCode ierr;
  PetscBool      given = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(refuse_empty(comm, name));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = PetscOptionsReal(name, help, NULL, *value, value, &given);
  PetscCall(PetscPopErrorHandler());
  PetscCall(refuse_unparsed(comm, name, ierr || PetscIsInfOrNanReal(*value), "a finite real number"));
  if (set) *set = given;
  if (!given) PetscFunctionReturn(0);
  if (strict ? *value > lo : *value >= lo) PetscFunctionReturn(0);
  char text[256], bound[32];
  option_text(name, text, sizeof(text));
  snprintf(bound, sizeof(bound), "%g", (double)lo);
  SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s %s is out of range: it must be %s %s", name, text, strict ? ">" : ">=", bound);
}

/* Reads a real option that may take any finite value. */
static PetscErrorCode read_any_real(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char *name, const char *help, PetscReal *value)
{
  PetscFunctionBeginUser;
  PetscCall(read_real(PetscOptionsObject, comm, name, help, PETSC_MIN_REAL, PETSC_FALSE, value, NULL));
  PetscFunctionReturn(0);
}

/* Reads a boolean option; a value other than true/false/yes/no/1/0 is refused. */
static PetscErrorCode read_bool(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char *name, const char *help, PetscBool *value)
{
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = PetscOptionsBool(name, help, NULL, *value, value, NULL);
  PetscCall(PetscPopErrorHandler());
  PetscCall(refuse_unparsed(comm, name, ierr, "a boolean (allowed: true, false)"));
  PetscFunctionReturn(0);
}

/* A list option of positive numbers: its name, what one item and several are called in
   messages, an example and the most items allowed. */
typedef struct {
  const char *name, *item, *items, *example;
  PetscInt    max;
} PositiveList;

/* Refuses a list with an empty item (0.1,,0.2) or more than list->max items, which
   PetscOptionsRealArray would drop or cut silently. */
static PetscErrorCode check_list_items(MPI_Comm comm, const PositiveList *list)
{
  const char *text  = NULL;
  PetscBool   found = PETSC_FALSE;
  PetscInt    items = 1;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsFindPair(NULL, NULL, list->name, &text, &found));
  if (!found || !text || !text[0]) PetscFunctionReturn(0); /* an empty list is refused by the reader */
  for (const char *p = text, *item = text;; p++) {
    if (*p && *p != ',') continue;
    PetscCheck(p > item, comm, PETSC_ERR_USER_INPUT, "%s %s: %s %" PetscInt_FMT " is empty; give a comma-separated list of numbers, e.g. %s", list->name, text, list->item, items, list->example);
    if (!*p) break;
    item = p + 1;
    items++;
  }
  PetscCheck(items <= list->max, comm, PETSC_ERR_USER_INPUT, "%s %s has %" PetscInt_FMT " %s; at most %" PetscInt_FMT " are allowed", list->name, text, items, list->items, list->max);
  PetscFunctionReturn(0);
}

/* Reads a list option of at most list->max numbers, each > 0, into values[*count] (left as
   they are when the option is not given); *set tells whether it was. */
static PetscErrorCode read_positive_list(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const PositiveList *list, const char *help, PetscReal values[], PetscInt *count, PetscBool *set)
{
  PetscInt       n = list->max;
  PetscReal      t[PetscMax(DS_MAX_TEMPERATURES, DS_MAX_ECF_SHELLS)];
  PetscBool      present;
  PetscErrorCode ierr;
  char           expected[128];

  PetscFunctionBeginUser;
  *set = PETSC_FALSE;
  PetscCall(check_list_items(comm, list));
  PetscCall(PetscArraycpy(t, values, *count)); /* the defaults -help shows */
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = PetscOptionsRealArray(list->name, help, NULL, t, &n, NULL);
  PetscCall(PetscPopErrorHandler());
  snprintf(expected, sizeof(expected), "a comma-separated list of at most %d %s", (int)list->max, list->items);
  PetscCall(refuse_unparsed(comm, list->name, ierr, expected));
  PetscCall(PetscOptionsHasName(NULL, NULL, list->name, &present));
  if (!present) PetscFunctionReturn(0);
  *set = PETSC_TRUE; /* PETSc reports a name without values as unset: that is an empty list */
  PetscCheck(n > 0, comm, PETSC_ERR_USER_INPUT, "%s is empty: give at least one %s, e.g. %s", list->name, list->item, list->example);
  for (PetscInt k = 0; k < n; k++) {
    char text[256];
    option_text(list->name, text, sizeof(text));
    PetscCheck(t[k] > 0 && !PetscIsInfOrNanReal(t[k]), comm, PETSC_ERR_USER_INPUT, "%s %s: %s %" PetscInt_FMT " is not > 0; every %s must be > 0", list->name, text, list->item, k + 1, list->item);
    values[k] = t[k];
  }
  *count = n;
  PetscFunctionReturn(0);
}

/* Reads -drift_diagnostics g1,g2,... (names of DSDiagnosticGroups, or all, or none). */
static PetscErrorCode read_diagnostic_groups(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, PetscInt *mask)
{
  char     *names[DS_DIAGNOSTIC_GROUPS + 2], unknown[256] = "";
  PetscInt  n = DS_DIAGNOSTIC_GROUPS + 2;
  PetscBool set;

  PetscFunctionBeginUser;
  PetscCall(refuse_empty(comm, "-drift_diagnostics"));
  PetscCall(PetscOptionsStringArray("-drift_diagnostics", "Diagnostic groups: mmd2,energy_distance,sliced_w2,kde,mixture,theorem,sinkhorn,ecf, or all, or none (default all but sinkhorn)", NULL, names, &n, &set));
  if (!set) PetscFunctionReturn(0);
  *mask = 0;
  for (PetscInt k = 0; k < n; k++) {
    PetscBool all, none, known = PETSC_FALSE;
    PetscCall(PetscStrcasecmp(names[k], "all", &all));
    PetscCall(PetscStrcasecmp(names[k], "none", &none));
    if (all) *mask = (1 << DS_DIAGNOSTIC_GROUPS) - 1;
    for (PetscInt g = 0; g < DS_DIAGNOSTIC_GROUPS; g++) {
      PetscBool match;
      PetscCall(PetscStrcasecmp(names[k], DSDiagnosticGroups[g], &match));
      if (match) *mask |= 1 << g, known = PETSC_TRUE;
    }
    if (!(all || none || known) && !unknown[0]) PetscCall(PetscStrncpy(unknown, names[k], sizeof(unknown)));
    PetscCall(PetscFree(names[k]));
  }
  PetscCheck(!unknown[0], comm, PETSC_ERR_USER_INPUT, "-drift_diagnostics: %s is not a diagnostic group; allowed: mmd2, energy_distance, sliced_w2, kde, mixture, theorem, sinkhorn, ecf, all, none", unknown);
  PetscFunctionReturn(0);
}

/* Reads a file-name option; given_out tells whether it was given (with a non-empty value). */
static PetscErrorCode read_path(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char *name, const char *help, char *value, size_t len, PetscBool *given_out)
{
  PetscBool given = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsString(name, help, NULL, value, value, len, &given));
  PetscCheck(!given || value[0], comm, PETSC_ERR_USER_INPUT, "%s needs a value", name);
  if (given_out) *given_out = given;
  PetscFunctionReturn(0);
}

/* Reads -drift_field, the name of a registered field type (ds_field.h), into o->field in
   its canonical spelling; an unknown name is refused with the registered ones. */
static PetscErrorCode read_field(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, DSOptions *o, const DSFieldTypeInfo **type)
{
  char allowed[512], described[1024];

  PetscFunctionBeginUser;
  PetscCall(refuse_empty(comm, "-drift_field"));
  PetscCall(ds_field_type_list(allowed, sizeof(allowed)));
  PetscCall(PetscSNPrintf(described, sizeof(described), "Velocity field (one of: %s)", allowed));
  PetscCall(PetscOptionsString("-drift_field", described, NULL, o->field, o->field, sizeof(o->field), NULL));
  PetscCall(ds_field_type_find(o->field, type));
  PetscCheck(*type, comm, PETSC_ERR_USER_INPUT, "-drift_field %s is not known; allowed: %s", o->field, allowed);
  PetscCall(PetscStrncpy(o->field, (*type)->name, sizeof(o->field)));
  PetscFunctionReturn(0);
}

/* The field type's own defaults: the literature's kernel for it (gaussian for the
   conservative field, laplace for the others), the self pair (excluded by the joint
   fields by definition, K_ii = 0; included by the others) and the joint floor (the code
   whose field the type reproduces). */
static void field_defaults(const DSFieldTypeInfo *type, DSKernelType *kernel, DSSelfPair *self, DSJointFloor *floor)
{
  *kernel = type->default_kernel;
  *self   = type->excludes_self ? DS_SELF_EXCLUDE : DS_SELF_INCLUDE;
  *floor  = type->default_joint_floor;
}

static const PositiveList temperature_list = {"-drift_temperatures", "temperature", "temperatures", "0.02,0.05,0.2", DS_MAX_TEMPERATURES};
static const PositiveList ecf_shell_list   = {"-drift_ecf_shells", "shell", "shells", "1,2,4,8", DS_MAX_ECF_SHELLS};

/* Reads the ecf diagnostics' shells and directions. */
static PetscErrorCode read_ecf_options(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, DSOptions *o)
{
  PetscBool given;

  PetscFunctionBeginUser;
  PetscCall(read_positive_list(PetscOptionsObject, comm, &ecf_shell_list, "Radii K of the shells |k| = K of the ecf diagnostics (none by default)", o->ecf_shells, &o->necf_shells, &given));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_ecf_directions", "Seeded unit directions per shell of the ecf diagnostics", 1, 100000, &o->ecf_directions, &o->ecf_directions_given));
  PetscFunctionReturn(0);
}

/* Reads the Sinkhorn field's and divergence's options (ds_sinkhorn.h). */
static PetscErrorCode read_sinkhorn_options(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, DSOptions *o)
{
  const char *solver_options[] = {"-drift_sinkhorn_cost", "-drift_sinkhorn_tol", "-drift_sinkhorn_max_iterations", "-drift_sinkhorn_scaling", "-drift_sinkhorn_warm_start", "-drift_sinkhorn_extrapolate", "-drift_sinkhorn_anderson_memory", "-drift_sinkhorn_allow_unconverged"};
  int         cost            = o->sinkhorn_cost;

  PetscFunctionBeginUser;
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_sinkhorn_epsilon", "Entropic regularisation eps of the sinkhorn field (cost units: the squared cost is |x - y|^2 / 2)", 0.0, PETSC_TRUE, &o->sinkhorn_epsilon, &o->sinkhorn_epsilon_given));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_sinkhorn_divergence_epsilon", "Entropic regularisation eps of the sinkhorn_divergence diagnostic", 0.0, PETSC_TRUE, &o->sinkhorn_divergence_epsilon, &o->sinkhorn_divergence_epsilon_given));
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_sinkhorn_cost", "Transport cost: squared (|x - y|^2 / 2) or euclidean (|x - y|)", DSSinkhornCosts, &cost, NULL));
  o->sinkhorn_cost = (DSSinkhornCost)cost;
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_sinkhorn_tol", "Marginal error max_k |sum_i pi_ik / b_k - 1| at which the Sinkhorn iterations stop", 0.0, PETSC_TRUE, &o->sinkhorn_tol, NULL));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_sinkhorn_max_iterations", "Sinkhorn iterations per solve (eps-scaling steps included); reaching it unconverged is an error", 1, PETSC_MAX_INT, &o->sinkhorn_max_iterations, NULL));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_sinkhorn_scaling", "eps-scaling factor in [0, 1) of a cold start, from the diameter's cost down to eps (0 = none)", 0.0, PETSC_FALSE, &o->sinkhorn_scaling, NULL));
  PetscCall(read_bool(PetscOptionsObject, comm, "-drift_sinkhorn_warm_start", "Start each Sinkhorn solve from the previous one's potentials", &o->sinkhorn_warm_start));
  PetscCall(read_bool(PetscOptionsObject, comm, "-drift_sinkhorn_extrapolate", "A warm start extrapolates the samples' potential g by its last change times the ratio of its last two changes", &o->sinkhorn_extrapolate));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_sinkhorn_anderson_memory", "Differences kept by the Anderson mixing of the Sinkhorn iterations at eps (0 = plain iterations)", 0, 100, &o->sinkhorn_anderson_memory, NULL));
  PetscCall(read_bool(PetscOptionsObject, comm, "-drift_sinkhorn_allow_unconverged", "Keep a Sinkhorn solve that reached -drift_sinkhorn_max_iterations unconverged (its marginal error is a diagnostic)", &o->sinkhorn_allow_unconverged));
  for (size_t k = 0; k < sizeof(solver_options) / sizeof(solver_options[0]); k++) {
    PetscBool given;
    PetscCall(PetscOptionsHasName(NULL, NULL, solver_options[k], &given));
    if (given) o->sinkhorn_solver_given = PETSC_TRUE;
  }
  PetscFunctionReturn(0);
}

/* Reads the joint fields' column options: -drift_negatives_file/_dataset and, for each
   column set, -drift_<set>_weights_file/_dataset. */
static PetscErrorCode read_column_options(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, DSOptions *o)
{
  PetscFunctionBeginUser;
  PetscCall(read_path(PetscOptionsObject, comm, "-drift_negatives_file", "HDF5 file of negative samples [C][d], extra columns of the joint fields next to the particles", o->negatives_file, sizeof(o->negatives_file), NULL));
  PetscCall(read_path(PetscOptionsObject, comm, "-drift_negatives_dataset", "Dataset of the negative samples in -drift_negatives_file", o->negatives_dataset, sizeof(o->negatives_dataset), NULL));
  for (int set = 0; set < DS_COLUMN_SETS; set++) {
    char name[64], help[160];
    PetscCall(PetscSNPrintf(name, sizeof(name), "-drift_%s_weights_file", DSColumnSets[set]));
    PetscCall(PetscSNPrintf(help, sizeof(help), "HDF5 file of the %s columns' weights (joint fields; default all 1)", DSColumnSets[set]));
    PetscCall(read_path(PetscOptionsObject, comm, name, help, o->weights_file[set], sizeof(o->weights_file[set]), NULL));
    PetscCall(PetscSNPrintf(name, sizeof(name), "-drift_%s_weights_dataset", DSColumnSets[set]));
    PetscCall(PetscSNPrintf(help, sizeof(help), "1-D dataset of the %s weights", DSColumnSets[set]));
    PetscCall(read_path(PetscOptionsObject, comm, name, help, o->weights_dataset[set], sizeof(o->weights_dataset[set]), NULL));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ds_options_set_defaults(DSOptions *o)
{
  const DSFieldTypeInfo *field;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  o->n               = 1024;
  o->dim             = 2;
  PetscCall(PetscStrncpy(o->field, "conservative", sizeof(o->field)));
  PetscCall(ds_field_type_find(o->field, &field));
  field_defaults(field, &o->kernel, &o->self, &o->joint_floor);
  o->bandwidth       = 0.5;
  o->bandwidth_rule  = DS_BANDWIDTH_FIXED;
  o->imq_beta        = 0.5;
  o->target          = DS_TARGET_GAUSSIAN;
  o->target_samples  = ds_target_default_samples(o->target, o->kernel, PETSC_FALSE, o->n);
  o->target_scale    = 1.0;
  o->init            = DS_INIT_GAUSSIAN;
  o->init_mean       = 0.0;
  o->init_scale      = 3.0;
  o->output_every    = 10;
  o->bandwidth_pairs = 10000;
  o->diagnostics_every     = 10;
  o->diagnostics           = DS_DIAGNOSTICS_DEFAULT;
  o->mmd_bandwidth         = 1.0;
  o->sliced_w2_projections = 64;
  o->kl_draws              = 10000;
  o->ecf_directions              = 16;
  o->sinkhorn_epsilon            = 0.1;
  o->sinkhorn_divergence_epsilon = 0.1;
  o->sinkhorn_cost               = DS_SINKHORN_COST_SQUARED;
  o->sinkhorn_tol                = 1e-4;
  o->sinkhorn_max_iterations     = 1000;
  o->sinkhorn_scaling            = 0.5;
  o->sinkhorn_warm_start         = PETSC_TRUE;
  o->sinkhorn_extrapolate        = PETSC_TRUE;
  o->sinkhorn_anderson_memory    = 5;
  o->pair_schedule               = DS_PAIRS_SYMMETRIC;
  o->isa                         = DS_ISA_AUTO;
  o->ntemperatures   = 3;
  o->temperatures[0] = 0.02; /* the official large-scale list */
  o->temperatures[1] = 0.05;
  o->temperatures[2] = 0.2;
  o->monitor_every   = 1;
  PetscFunctionReturn(0);
}

/* Refuses a --drift_* spelling: PETSc stores --drift_n as an option named -drift_n with one
   dash left, which no reader asks for, so the value would be ignored. */
static PetscErrorCode refuse_double_dash(MPI_Comm comm)
{
  PetscInt n;
  char   **names, **values, typed[256] = "";

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  for (PetscInt i = 0; i < n && !typed[0]; i++) {
    const char *name = names[i];
    PetscBool   drift;
    while (*name == '-') name++;
    PetscCall(PetscStrbeginswith(name, "drift_", &drift));
    if (drift && name != names[i]) PetscCall(PetscSNPrintf(typed, sizeof(typed), "-%s", names[i]));
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  if (typed[0]) {
    const char *name = typed;
    while (*name == '-') name++;
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s is not an option: driftsim's options are spelled with one dash (-%s)", typed, name);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ds_options_say_notes(MPI_Comm comm, const DSOptions *o)
{
  const DSFieldTypeInfo *field;

  PetscFunctionBeginUser;
  PetscCall(ds_field_type_find(o->field, &field));
  if (field && field->needs_samples && ds_target_has_density(o->target) && !o->target_samples_given)
    PetscCall(PetscPrintf(comm, "driftsim: note: -drift_field %s needs target samples: M = %" PetscInt_FMT " draws of -drift_target %s stand in for its density (-drift_target_samples sets M)\n", o->field, o->target_samples, DSTargetTypes[o->target]));
  if (o->sum != DS_SUM_EXACT && !ds_options_fast_sums_apply(o)) PetscCall(PetscPrintf(comm, "driftsim: note: -drift_sum %s is not applied: its fast sums need -drift_dim <= 3 (%" PetscInt_FMT " given), so every pair is summed (recorded as sum_applied = 0 in the output)\n", DSSumMethods[o->sum], o->dim));
  PetscFunctionReturn(0);
}

/* -drift_sum and -drift_sum_tol, and the old spelling -drift_cutoff_tol eps of
   -drift_sum cutoff -drift_sum_tol eps (said once when used). */
static PetscErrorCode read_sum_options(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, DSOptions *o)
{
  int       sum = o->sum;
  PetscReal cutoff_tol = 0;
  PetscBool sum_given, tol_given, cutoff_given;

  PetscFunctionBeginUser;
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_sum", "Kernel sums of the conservative and displacement fields: exact (every pair), cutoff (cell lists), fgt (fast Gauss transform; gaussian kernel, d <= 3) or auto (the cheapest by a cost model)", DSSumMethods, &sum, &sum_given));
  o->sum = (DSSumMethod)sum;
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_sum_tol", "Tolerance eps of -drift_sum cutoff, fgt and auto: each sum over n sources within eps n (values) and eps h n (moments)", 0.0, PETSC_TRUE, &o->sum_tol, &tol_given));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_cutoff_tol", "Old spelling of -drift_sum cutoff -drift_sum_tol eps (0 = all pairs)", 0.0, PETSC_FALSE, &cutoff_tol, &cutoff_given));
  if (cutoff_given) {
    PetscCheck(!sum_given && !tol_given, comm, PETSC_ERR_USER_INPUT, "-drift_cutoff_tol is the old spelling of -drift_sum cutoff -drift_sum_tol eps: give one or the other, not both");
    if (cutoff_tol > 0) {
      o->sum     = DS_SUM_CUTOFF;
      o->sum_tol = cutoff_tol;
      PetscCall(PetscPrintf(comm, "driftsim: note: -drift_cutoff_tol %g is spelled -drift_sum cutoff -drift_sum_tol %g now; running as such\n", (double)cutoff_tol, (double)cutoff_tol));
    }
  } else PetscCheck(!tol_given || o->sum != DS_SUM_EXACT, comm, PETSC_ERR_USER_INPUT, "-drift_sum_tol is the tolerance of -drift_sum cutoff, fgt or auto (-drift_sum exact given or by default)");
  PetscCheck(o->sum == DS_SUM_EXACT || o->sum_tol > 0, comm, PETSC_ERR_USER_INPUT, "-drift_sum %s needs its tolerance: give -drift_sum_tol eps", DSSumMethods[o->sum]);
  PetscFunctionReturn(0);
}

/* Body of ds_options_read: every option, read inside its PetscOptionsBegin/End (a refused
   option returns from here, and ds_options_read ends the block before raising it, so the
   block's strings are freed). */
static PetscErrorCode read_options(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, DSOptions *o)
{
  int                    kernel, self, schedule, isa, floor, target = o->target, init = o->init, rule = o->bandwidth_rule;
  const DSFieldTypeInfo *field;
  DSKernelType           field_kernel;
  DSSelfPair             field_self;
  DSJointFloor           field_floor;

  PetscFunctionBeginUser;
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_n", "Number of particles N (default 1024; the file's rows with -drift_init file)", 1, PETSC_MAX_INT, &o->n, &o->n_given));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_dim", "Dimension d", 1, PETSC_MAX_INT, &o->dim, NULL));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_seed", "Seed of the counter-based generator", 0, PETSC_MAX_INT, &o->seed, NULL));
  PetscCall(read_field(PetscOptionsObject, comm, o, &field));
  field_defaults(field, &field_kernel, &field_self, &field_floor);
  kernel = field_kernel;
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_kernel", "Kernel (default gaussian for conservative, laplace for the others)", DSKernelTypes, &kernel, NULL));
  o->kernel = (DSKernelType)kernel;
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_bandwidth", "Kernel bandwidth h", 0.0, PETSC_TRUE, &o->bandwidth, NULL));
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_bandwidth_rule", "Bandwidth rule", DSBandwidthRules, &rule, NULL));
  o->bandwidth_rule = (DSBandwidthRule)rule;
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_bandwidth_scale", "c of the rate rule h = c N^(-1/(d+4))", 0.0, PETSC_TRUE, &o->bandwidth_scale, NULL));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_bandwidth_pairs", "Pairs sampled by the median rule", 1, 10000000, &o->bandwidth_pairs, NULL));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_bandwidth_anneal", "Annealing rate r of h(t) = max(h_min, h0 exp(-r t))", 0.0, PETSC_FALSE, &o->bandwidth_anneal, &o->bandwidth_anneal_given));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_bandwidth_min", "Smallest bandwidth h_min of the annealing", 0.0, PETSC_TRUE, &o->bandwidth_min, NULL));
  PetscCall(read_positive_list(PetscOptionsObject, comm, &temperature_list, "Temperatures of the multitemperature field (default 0.02,0.05,0.2)", o->temperatures, &o->ntemperatures, &o->temperatures_given));
  PetscCall(read_sum_options(PetscOptionsObject, comm, o));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_imq_beta", "Exponent beta of the imq kernel", 0.0, PETSC_TRUE, &o->imq_beta, NULL));
  self = field_self;
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_self", "The self pair j = i in particle kernel sums (default exclude for the joint fields, which exclude it by definition, include for the others)", DSSelfPairs, &self, NULL));
  o->self = (DSSelfPair)self;
  schedule = o->pair_schedule;
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_pair_schedule", "Particle-particle kernel sums: symmetric (each pair's kernel value once, for both particles, on a half ring) or full (every ordered pair)", DSPairSchedules, &schedule, NULL));
  o->pair_schedule = (DSPairSchedule)schedule;
  isa              = o->isa;
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_isa", "ISA level of the pair loops: auto (the best every rank's CPU runs), or one forced", DSIsaNames, &isa, NULL));
  o->isa = (DSIsa)isa;
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_target", "Target distribution", DSTargetTypes, &target, NULL));
  o->target         = (DSTargetType)target;
  o->target_samples = ds_target_default_samples(o->target, o->kernel, field->needs_samples, o->n);
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_target_samples", "Target samples M (0 = analytic density; the file's rows with -drift_target file)", 0, PETSC_MAX_INT, &o->target_samples, &o->target_samples_given));
  PetscCall(read_path(PetscOptionsObject, comm, "-drift_target_file", "HDF5 file of target samples [M][d] (-drift_target file)", o->target_file, sizeof(o->target_file), NULL));
  PetscCall(read_path(PetscOptionsObject, comm, "-drift_target_dataset", "Dataset of the target samples in -drift_target_file", o->target_dataset, sizeof(o->target_dataset), NULL));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_target_scale", "Length scale of the target", 0.0, PETSC_TRUE, &o->target_scale, NULL));
  PetscCall(read_bool(PetscOptionsObject, comm, "-drift_replicate_data", "Keep all target samples (and negatives) on every rank instead of circulating them", &o->replicate_data));
  floor = field_floor;
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_joint_floor", "Floors of the joint fields (default tutorial for joint, large_scale for multitemperature; exact: SCIENCE.md items 3 and 4 as written)", DSJointFloors, &floor, &o->joint_floor_given));
  o->joint_floor = (DSJointFloor)floor;
  PetscCall(read_column_options(PetscOptionsObject, comm, o));
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_init", "Initial cloud", DSInitTypes, &init, NULL));
  o->init = (DSInitType)init;
  PetscCall(read_any_real(PetscOptionsObject, comm, "-drift_init_mean", "Every coordinate of the initial cloud's mean (centre)", &o->init_mean));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_init_scale", "Initial cloud std (gaussian) or half-width (uniform)", 0.0, PETSC_TRUE, &o->init_scale, NULL));
  PetscCall(read_path(PetscOptionsObject, comm, "-drift_init_file", "HDF5 file of the initial cloud [N][d] (-drift_init file)", o->init_file, sizeof(o->init_file), NULL));
  PetscCall(read_path(PetscOptionsObject, comm, "-drift_init_dataset", "Dataset of the initial cloud in -drift_init_file", o->init_dataset, sizeof(o->init_dataset), NULL));
  PetscCall(PetscOptionsString("-drift_output", "HDF5 output file (none when not given)", NULL, o->output, o->output, sizeof(o->output), &o->output_given));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_output_every", "Steps between particle snapshots", 1, PETSC_MAX_INT, &o->output_every, NULL));
  PetscCall(read_bool(PetscOptionsObject, comm, "-drift_output_velocity", "Also write the field at each snapshot", &o->output_velocity));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_monitor", "Steps between progress lines (0 = silent)", 0, PETSC_MAX_INT, &o->monitor_every, NULL));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_diagnostics_every", "Steps between diagnostics rows (the distances cost about two field evaluations)", 1, PETSC_MAX_INT, &o->diagnostics_every, NULL));
  PetscCall(read_diagnostic_groups(PetscOptionsObject, comm, &o->diagnostics));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_mmd_bandwidth", "Bandwidth of the gaussian kernel of mmd2", 0.0, PETSC_TRUE, &o->mmd_bandwidth, NULL));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_sliced_w2_projections", "Directions of sliced_w2", 1, 100000, &o->sliced_w2_projections, NULL));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_diagnostics_samples", "Samples drawn from an analytic target for the distances (default N)", 1, PETSC_MAX_INT, &o->diagnostics_samples, NULL));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_fisher_draws", "Draws Q per particle of the Fisher discrepancy J_t (theorem group, conservative gaussian field; 0 = not computed)", 0, 1000000, &o->fisher_draws, NULL));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_kl_draws", "Draws of the Monte-Carlo KL(rho_0 || nu_h) where it has no closed form", 2, PETSC_MAX_INT, &o->kl_draws, NULL));
  PetscCall(read_sinkhorn_options(PetscOptionsObject, comm, o));
  PetscCall(read_ecf_options(PetscOptionsObject, comm, o));
  PetscCall(read_path(PetscOptionsObject, comm, "-drift_checkpoint", "Checkpoint file (written atomically; the previous one is kept as FILE.prev)", o->checkpoint, sizeof(o->checkpoint), NULL));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_checkpoint_every", "Steps between checkpoints (0 = none)", 0, PETSC_MAX_INT, &o->checkpoint_every, NULL));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_checkpoint_seconds", "Wall-clock seconds between checkpoints (0 = none)", 0.0, PETSC_FALSE, &o->checkpoint_seconds, NULL));
  PetscCall(read_path(PetscOptionsObject, comm, "-drift_restart", "Checkpoint to continue from", o->restart, sizeof(o->restart), NULL));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_options_read(MPI_Comm comm, DSOptions *o)
{
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(refuse_double_dash(comm));
  PetscOptionsBegin(comm, NULL, "driftsim: finite-particle drifting-model simulator", "driftsim");
  ierr = read_options(PetscOptionsObject, comm, o);
  PetscOptionsEnd();
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

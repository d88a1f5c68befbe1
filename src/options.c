/* Reading and validating every -drift_* option into one DSOptions (DESIGN.md: options).
   Each reader takes the option's name, so every message names the option, the value
   given and what is allowed. The options database is the same on every rank, so every
   verdict here is collective without communication. */
#include <stdio.h>
#include "ds_options.h"

const char *const DSFieldTypes[]  = {"conservative", "displacement", "joint", "multitemperature", "DSFieldType", "DS_FIELD_", NULL};
const char *const DSKernelTypes[] = {"gaussian", "laplace", "imq", "DSKernelType", "DS_KERNEL_", NULL};
const char *const DSSelfPairs[]   = {"include", "exclude", "DSSelfPair", "DS_SELF_", NULL};
const char *const DSTargetTypes[] = {"gaussian", "gmm8", "checkerboard", "swissroll", "moons", "rings", "DSTargetType", "DS_TARGET_", NULL};
const char *const DSInitTypes[]   = {"gaussian", "uniform", "DSInitType", "DS_INIT_", NULL};
const char *const DSBandwidthRules[] = {"fixed", "rate", "silverman", "scott", "median", "DSBandwidthRule", "DS_BANDWIDTH_", NULL};

PetscBool ds_target_has_density(DSTargetType target)
{
  return (target == DS_TARGET_GAUSSIAN || target == DS_TARGET_GMM8) ? PETSC_TRUE : PETSC_FALSE;
}

PetscBool ds_target_is_planar(DSTargetType target)
{
  return target == DS_TARGET_GAUSSIAN ? PETSC_FALSE : PETSC_TRUE;
}

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

/* Reads a choice option given by name; an unknown value is refused with the allowed ones. */
static PetscErrorCode read_choice(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char *name, const char *help, const char *const *list, int *value, PetscBool *set)
{
  char      given[256], allowed[512];
  PetscBool found;

  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(given, list[*value], sizeof(given)));
  PetscCall(PetscOptionsString(name, help, NULL, given, given, sizeof(given), &found));
  for (PetscInt i = 0; i < choice_count(list); i++) {
    PetscBool match;
    PetscCall(PetscStrcasecmp(given, list[i], &match));
    if (match) {
      *value = (int)i;
      if (set) *set = found;
      PetscFunctionReturn(0);
    }
  }
  choice_names(list, allowed, sizeof(allowed));
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

/* Reads an integer option and, when given, checks lo <= value <= hi. */
static PetscErrorCode read_int(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char *name, const char *help, PetscInt lo, PetscInt hi, PetscInt *value, PetscBool *set)
{
  PetscErrorCode ierr;
  PetscBool      given = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = PetscOptionsInt(name, help, NULL, *value, value, &given);
  PetscCall(PetscPopErrorHandler());
  PetscCall(refuse_unparsed(comm, name, ierr, "an integer"));
  if (set) *set = given;
  if (!given) PetscFunctionReturn(0);
  if (hi == PETSC_MAX_INT) PetscCheck(*value >= lo, comm, PETSC_ERR_USER_INPUT, "%s %" PetscInt_FMT " is out of range: it must be >= %" PetscInt_FMT, name, *value, lo);
  PetscCheck(*value >= lo && *value <= hi, comm, PETSC_ERR_USER_INPUT, "%s %" PetscInt_FMT " is out of range: it must be in [%" PetscInt_FMT ", %" PetscInt_FMT "]", name, *value, lo, hi);
  PetscFunctionReturn(0);
}

/* Reads a real option and, when given, checks it is finite and > lo (strict) or >= lo. */
static PetscErrorCode read_real(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, const char *name, const char *help, PetscReal lo, PetscBool strict, PetscReal *value, PetscBool *set)
{
  PetscErrorCode ierr;
  PetscBool      given = PETSC_FALSE;

  PetscFunctionBeginUser;
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
  PetscFunctionReturn(0);
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

/* Reads -drift_temperatures t1,t2,...: at least one, each > 0. */
static PetscErrorCode read_temperatures(PetscOptionItems *PetscOptionsObject, MPI_Comm comm, DSOptions *o, PetscBool *set)
{
  PetscInt       n = DS_MAX_TEMPERATURES;
  PetscReal      t[DS_MAX_TEMPERATURES];
  PetscBool      present;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  *set = PETSC_FALSE;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = PetscOptionsRealArray("-drift_temperatures", "Temperatures of the multitemperature field (default 0.02,0.05,0.2)", NULL, t, &n, NULL);
  PetscCall(PetscPopErrorHandler());
  PetscCall(refuse_unparsed(comm, "-drift_temperatures", ierr, "a comma-separated list of at most 16 temperatures"));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-drift_temperatures", &present));
  if (!present) PetscFunctionReturn(0);
  *set = PETSC_TRUE; /* PETSc reports a name without values as unset: that is an empty list */
  PetscCheck(n > 0, comm, PETSC_ERR_USER_INPUT, "-drift_temperatures is empty: give at least one temperature, e.g. 0.02,0.05,0.2");
  for (PetscInt k = 0; k < n; k++) {
    char text[256];
    option_text("-drift_temperatures", text, sizeof(text));
    PetscCheck(t[k] > 0 && !PetscIsInfOrNanReal(t[k]), comm, PETSC_ERR_USER_INPUT, "-drift_temperatures %s: temperature %" PetscInt_FMT " is not > 0; every temperature must be > 0", text, k + 1);
    o->temperatures[k] = t[k];
  }
  o->ntemperatures = n;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_options_read(MPI_Comm comm, DSOptions *o)
{
  PetscBool output_set = PETSC_FALSE, self_set = PETSC_FALSE, scale_set = PETSC_FALSE, anneal_set = PETSC_FALSE, min_set = PETSC_FALSE, temperatures_set = PETSC_FALSE;
  int       field = DS_FIELD_CONSERVATIVE, kernel = DS_KERNEL_GAUSSIAN, self = DS_SELF_INCLUDE;
  int       target = DS_TARGET_GAUSSIAN, init = DS_INIT_GAUSSIAN, rule = DS_BANDWIDTH_FIXED;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  o->n               = 1024;
  o->dim             = 2;
  o->bandwidth       = 0.5;
  o->imq_beta        = 0.5;
  o->target_scale    = 1.0;
  o->init_mean       = 0.0;
  o->init_scale      = 3.0;
  o->output_every    = 10;
  o->bandwidth_pairs = 10000;
  o->ntemperatures   = 3;
  o->temperatures[0] = 0.02; /* the official large-scale list */
  o->temperatures[1] = 0.05;
  o->temperatures[2] = 0.2;
  o->monitor_every   = 1;

  PetscOptionsBegin(comm, NULL, "driftsim: finite-particle drifting-model simulator", "driftsim");
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_n", "Number of particles N", 1, PETSC_MAX_INT, &o->n, NULL));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_dim", "Dimension d", 1, PETSC_MAX_INT, &o->dim, NULL));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_seed", "Seed of the counter-based generator", 0, PETSC_MAX_INT, &o->seed, NULL));
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_field", "Velocity field", DSFieldTypes, &field, NULL));
  o->field = (DSFieldType)field;
  /* The literature's kernel for each field: gaussian (conservative), laplace (the others). */
  kernel = o->field == DS_FIELD_CONSERVATIVE ? DS_KERNEL_GAUSSIAN : DS_KERNEL_LAPLACE;
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_kernel", "Kernel (default gaussian for conservative, laplace for the others)", DSKernelTypes, &kernel, NULL));
  o->kernel = (DSKernelType)kernel;
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_bandwidth", "Kernel bandwidth h", 0.0, PETSC_TRUE, &o->bandwidth, NULL));
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_bandwidth_rule", "Bandwidth rule", DSBandwidthRules, &rule, NULL));
  o->bandwidth_rule = (DSBandwidthRule)rule;
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_bandwidth_scale", "c of the rate rule h = c N^(-1/(d+4))", 0.0, PETSC_TRUE, &o->bandwidth_scale, &scale_set));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_bandwidth_pairs", "Pairs sampled by the median rule", 1, 10000000, &o->bandwidth_pairs, NULL));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_bandwidth_anneal", "Annealing rate r of h(t) = max(h_min, h0 exp(-r t))", 0.0, PETSC_FALSE, &o->bandwidth_anneal, &anneal_set));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_bandwidth_min", "Smallest bandwidth h_min of the annealing", 0.0, PETSC_TRUE, &o->bandwidth_min, &min_set));
  PetscCall(read_temperatures(PetscOptionsObject, comm, o, &temperatures_set));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_imq_beta", "Exponent beta of the imq kernel", 0.0, PETSC_TRUE, &o->imq_beta, NULL));
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_self", "The self pair j = i in particle kernel sums (the joint fields always exclude it)", DSSelfPairs, &self, &self_set));
  o->self = (DSSelfPair)self;
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_target", "Target distribution", DSTargetTypes, &target, NULL));
  o->target = (DSTargetType)target;
  /* Default M: the analytic density where it can be used (a density and the gaussian kernel), else M = N. */
  o->target_samples = (ds_target_has_density(o->target) && o->kernel == DS_KERNEL_GAUSSIAN) ? 0 : o->n;
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_target_samples", "Target samples M (0 = analytic density)", 0, PETSC_MAX_INT, &o->target_samples, NULL));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_target_scale", "Length scale of the target", 0.0, PETSC_TRUE, &o->target_scale, NULL));
  PetscCall(read_bool(PetscOptionsObject, comm, "-drift_replicate_data", "Keep all target samples on every rank instead of circulating them", &o->replicate_data));
  PetscCall(read_choice(PetscOptionsObject, comm, "-drift_init", "Initial cloud", DSInitTypes, &init, NULL));
  o->init = (DSInitType)init;
  PetscCall(read_any_real(PetscOptionsObject, comm, "-drift_init_mean", "Every coordinate of the initial cloud's mean (centre)", &o->init_mean));
  PetscCall(read_real(PetscOptionsObject, comm, "-drift_init_scale", "Initial cloud std (gaussian) or half-width (uniform)", 0.0, PETSC_TRUE, &o->init_scale, NULL));
  PetscCall(PetscOptionsString("-drift_output", "HDF5 output file (none when not given)", NULL, o->output, o->output, sizeof(o->output), &output_set));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_output_every", "Steps between particle snapshots", 1, PETSC_MAX_INT, &o->output_every, NULL));
  PetscCall(read_bool(PetscOptionsObject, comm, "-drift_output_velocity", "Also write the field at each snapshot", &o->output_velocity));
  PetscCall(read_int(PetscOptionsObject, comm, "-drift_monitor", "Steps between progress lines (0 = silent)", 0, PETSC_MAX_INT, &o->monitor_every, NULL));
  PetscOptionsEnd();

  /* Combinations. */
  PetscCheck(!(o->field == DS_FIELD_CONSERVATIVE && o->kernel == DS_KERNEL_LAPLACE), comm, PETSC_ERR_USER_INPUT,
             "-drift_kernel laplace cannot be used with -drift_field conservative: the KDE-gradient field needs a smooth kernel; allowed: gaussian, imq");
  PetscCheck(!(ds_target_is_planar(o->target) && o->dim != 2), comm, PETSC_ERR_USER_INPUT, "-drift_target %s is only defined in 2 dimensions (-drift_dim %" PetscInt_FMT " given)", DSTargetTypes[o->target], o->dim);
  if (o->target_samples == 0) {
    PetscCheck(ds_target_has_density(o->target), comm, PETSC_ERR_USER_INPUT, "-drift_target_samples 0 asks for the analytic density, but -drift_target %s has none; give a sample count M >= 1", DSTargetTypes[o->target]);
    PetscCheck(o->kernel == DS_KERNEL_GAUSSIAN, comm, PETSC_ERR_USER_INPUT,
               "-drift_target_samples 0 (analytic %s target) needs -drift_kernel gaussian, the only kernel with an exact smoothed density (-drift_kernel %s given); give a sample count M >= 1 instead",
               DSTargetTypes[o->target], DSKernelTypes[o->kernel]);
  }
  PetscCheck(!(output_set && !o->output[0]), comm, PETSC_ERR_USER_INPUT, "-drift_output needs a file name");
  PetscCheck(o->bandwidth_rule != DS_BANDWIDTH_RATE || scale_set, comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_rule rate needs its constant: give -drift_bandwidth_scale c (h = c N^(-1/(d+4)))");
  PetscCheck(!scale_set || o->bandwidth_rule == DS_BANDWIDTH_RATE, comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_scale is the constant of -drift_bandwidth_rule rate (-drift_bandwidth_rule %s given)", DSBandwidthRules[o->bandwidth_rule]);
  PetscCheck(!(o->bandwidth_anneal > 0) || min_set, comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_anneal needs the smallest bandwidth: give -drift_bandwidth_min h_min");
  PetscCheck(!min_set || o->bandwidth_anneal > 0, comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_min applies to an annealed bandwidth: give -drift_bandwidth_anneal r > 0");
  if (o->field == DS_FIELD_JOINT || o->field == DS_FIELD_MULTITEMPERATURE) {
    PetscCheck(!(self_set && o->self == DS_SELF_INCLUDE), comm, PETSC_ERR_USER_INPUT, "-drift_self include does not apply to -drift_field %s, which excludes the self pair by definition (K_ii = 0)", DSFieldTypes[o->field]);
    o->self = DS_SELF_EXCLUDE;
  }
  if (o->field == DS_FIELD_MULTITEMPERATURE)
    PetscCheck(o->bandwidth_rule == DS_BANDWIDTH_FIXED && !anneal_set, comm, PETSC_ERR_USER_INPUT,
               "-drift_field multitemperature sets its bandwidths from the mean distance and -drift_temperatures; -drift_bandwidth_rule and -drift_bandwidth_anneal do not apply");
  else PetscCheck(!temperatures_set, comm, PETSC_ERR_USER_INPUT, "-drift_temperatures applies to -drift_field multitemperature (-drift_field %s given)", DSFieldTypes[o->field]);
  PetscFunctionReturn(0);
}

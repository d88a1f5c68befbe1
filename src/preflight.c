/* The checks before anything is written (ds_preflight.h). The path checks run on rank 0,
   which broadcasts its verdict: the file system may differ between ranks' views only in
   timing, and one rank deciding keeps the refusal collective. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "ds_preflight.h"
#include "ds_output.h"

/* The identity of a path: device and inode of an existing file, else the resolved
   directory and the name (a file that does not exist yet). */
typedef struct {
  PetscBool exists;
  dev_t     dev;
  ino_t     ino;
  char      resolved[PATH_MAX + NAME_MAX + 2];
} Identity;

/* A path the run reads or writes, the option (or description) that named it, its identity. */
typedef struct {
  const char *option, *path;
  Identity    id;
} NamedPath;

static void identify(const char *path, Identity *id)
{
  struct stat st;
  char        dir_copy[PATH_MAX], name_copy[PATH_MAX], dir[PATH_MAX];

  memset(id, 0, sizeof(*id));
  if (!stat(path, &st)) {
    id->exists = PETSC_TRUE;
    id->dev    = st.st_dev;
    id->ino    = st.st_ino;
    return;
  }
  snprintf(dir_copy, sizeof(dir_copy), "%s", path);
  snprintf(name_copy, sizeof(name_copy), "%s", path);
  if (realpath(dirname(dir_copy), dir)) snprintf(id->resolved, sizeof(id->resolved), "%s/%s", dir, basename(name_copy));
  else snprintf(id->resolved, sizeof(id->resolved), "%s", path);
}

static PetscBool same_file(const Identity *a, const Identity *b)
{
  if (a->exists != b->exists) return PETSC_FALSE;
  if (a->exists) return (PetscBool)(a->dev == b->dev && a->ino == b->ino);
  return (PetscBool)!strcmp(a->resolved, b->resolved);
}

/* Writes into reason the first written path of w[] that is one of p[] (skipping the same
   entry when the lists overlap), or leaves it empty. */
static void first_clash(const NamedPath *w, int nw, const NamedPath *p, int np, char reason[], size_t len)
{
  for (int i = 0; i < nw && !reason[0]; i++)
    for (int j = 0; j < np && !reason[0]; j++)
      if (&w[i] != &p[j] && same_file(&w[i].id, &p[j].id))
        snprintf(reason, len, "%s %s is the same file as %s %s: writing it would destroy that file; give another name", w[i].option, w[i].path, p[j].option, p[j].path);
}

/* The weights files' options, by column set (ds_options.h). */
static const char *const weights_options[DS_COLUMN_SETS] = {"-drift_particle_weights_file", "-drift_negatives_weights_file", "-drift_data_weights_file"};

/* Rank 0's verdict on the paths (ds_preflight_paths). */
static PetscErrorCode paths_problem(const DSOptions *o, const char *checkpoint, char reason[], size_t len)
{
  enum { MAX_INPUTS = 64 };
  NamedPath   outs[4], ins[MAX_INPUTS];
  char        tmp[PETSC_MAX_PATH_LEN], prev[PETSC_MAX_PATH_LEN];
  int         nout = 0, nin = 0, argc;
  char      **args;
  const char *cp_option = o->checkpoint[0] ? "-drift_checkpoint" : "the checkpoint";

  PetscFunctionBeginUser;
  reason[0] = 0;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", checkpoint));
  PetscCall(PetscSNPrintf(prev, sizeof(prev), "%s.prev", checkpoint));
  if (o->output[0]) outs[nout++] = (NamedPath){"-drift_output", o->output, {0}};
  outs[nout++] = (NamedPath){cp_option, checkpoint, {0}};
  outs[nout++] = (NamedPath){cp_option, tmp, {0}};
  outs[nout++] = (NamedPath){cp_option, prev, {0}};
  if (o->init_file[0]) ins[nin++] = (NamedPath){"-drift_init_file", o->init_file, {0}};
  if (o->target_file[0]) ins[nin++] = (NamedPath){"-drift_target_file", o->target_file, {0}};
  if (o->negatives_file[0]) ins[nin++] = (NamedPath){"-drift_negatives_file", o->negatives_file, {0}};
  for (int set = 0; set < DS_COLUMN_SETS; set++)
    if (o->weights_file[set][0]) ins[nin++] = (NamedPath){weights_options[set], o->weights_file[set], {0}};
  PetscCall(PetscGetArgs(&argc, &args));
  for (int a = 1; a + 1 < argc && nin < MAX_INPUTS - 1; a++)
    if (!strcmp(args[a], "-options_file")) ins[nin++] = (NamedPath){"-options_file", args[a + 1], {0}};
  for (int k = 0; k < nout; k++) identify(outs[k].path, &outs[k].id);
  for (int k = 0; k < nin; k++) identify(ins[k].path, &ins[k].id);
  /* The output against the checkpoint files and every input; the checkpoint files
     against every input but the restart, which a continued run checkpoints over. */
  first_clash(outs, o->output[0] ? 1 : 0, outs, nout, reason, len);
  if (o->restart[0] && !reason[0]) {
    NamedPath restart = {"-drift_restart", o->restart, {0}};
    identify(o->restart, &restart.id);
    first_clash(outs, o->output[0] ? 1 : 0, &restart, 1, reason, len);
  }
  first_clash(outs, nout, ins, nin, reason, len);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_preflight_paths(MPI_Comm comm, const DSOptions *opts, const char *checkpoint)
{
  char        reason[4 * PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  if (opts->checkpoint[0]) PetscCall(ds_output_check_path(comm, "-drift_checkpoint", opts->checkpoint));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) PetscCall(paths_problem(opts, checkpoint, reason, sizeof(reason)));
  PetscCallMPI(MPI_Bcast(reason, sizeof(reason), MPI_CHAR, 0, comm));
  PetscCheck(!reason[0], comm, PETSC_ERR_USER_INPUT, "%s", reason);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_preflight_checkpoint_path(const DSOptions *o, char path[], size_t len)
{
  size_t n;

  PetscFunctionBeginUser;
  if (o->checkpoint[0]) PetscCall(PetscStrncpy(path, o->checkpoint, len));
  else if (o->output[0]) {
    PetscCall(PetscStrncpy(path, o->output, len));
    PetscCall(PetscStrlen(path, &n));
    if (n > 3 && !strcmp(path + n - 3, ".h5")) path[n - 3] = 0;
    PetscCall(PetscStrlcat(path, ".checkpoint.h5", len));
  } else PetscCall(PetscStrncpy(path, "driftsim.checkpoint.h5", len));
  PetscFunctionReturn(0);
}

/* TSSetFromOptions; a -ts_* value PETSc refuses becomes bad input, with PETSc's reason. */
static PetscErrorCode ts_set_from_options(MPI_Comm comm, TS ts)
{
  PetscErrorCode ierr;
  char          *reason = NULL;

  PetscFunctionBeginUser;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = TSSetFromOptions(ts);
  PetscCall(PetscPopErrorHandler());
  if (ierr) PetscCall(PetscErrorMessage(ierr, NULL, &reason));
  PetscCheck(!ierr, comm, PETSC_ERR_USER_INPUT, "a -ts_* option was refused: %s", reason ? reason : "invalid value");
  PetscFunctionReturn(0);
}

/* Refuses the -ts_* option `option` unless ok, naming the value as given and what is allowed. */
static PetscErrorCode check_ts_option(MPI_Comm comm, const char *option, PetscBool ok, const char *allowed)
{
  char given[64] = "";

  PetscFunctionBeginUser;
  if (ok) PetscFunctionReturn(0);
  PetscCall(PetscOptionsGetString(NULL, NULL, option, given, sizeof(given), NULL));
  SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s %s: %s", option, given, allowed);
}

PetscErrorCode ds_preflight_ts(MPI_Comm comm, TS ts)
{
  PetscReal dt, max_time;
  PetscInt  max_steps;
  PetscBool max_time_given;

  PetscFunctionBeginUser;
  PetscCall(ts_set_from_options(comm, ts));
  PetscCall(TSGetTimeStep(ts, &dt));
  PetscCall(TSGetMaxSteps(ts, &max_steps));
  PetscCall(TSGetMaxTime(ts, &max_time));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-ts_max_time", &max_time_given));
  PetscCall(check_ts_option(comm, "-ts_dt", (PetscBool)(PetscIsNormalReal(dt) && dt > 0), "the step size must be a finite number > 0"));
  PetscCall(check_ts_option(comm, "-ts_max_steps", (PetscBool)(max_steps >= 0), "the number of steps must be >= 0"));
  PetscCall(check_ts_option(comm, "-ts_max_time", (PetscBool)(!max_time_given || (PetscIsNormalReal(max_time) && max_time > 0)), "the final time must be a finite number > 0"));
  PetscFunctionReturn(0);
}

/* The options a restart takes from its command line, not from the checkpoint. */
static const char *const run_options[] = {"-drift_field", "-drift_kernel", "-drift_self", "-drift_target", "-drift_temperatures", "-drift_diagnostics", "-drift_joint_floor"};

PetscErrorCode ds_preflight_describe_run(const DSOptions *o, char text[], size_t len)
{
  char item[64];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(text, len, "%s %s %s %s %s %s %s %s %s ", run_options[0], o->field, run_options[1], DSKernelTypes[o->kernel], run_options[2], DSSelfPairs[o->self], run_options[3], DSTargetTypes[o->target], run_options[4]));
  for (PetscInt k = 0; k < o->ntemperatures; k++) {
    PetscCall(PetscSNPrintf(item, sizeof(item), "%s%.15g", k ? "," : "", (double)o->temperatures[k]));
    PetscCall(PetscStrlcat(text, item, len));
  }
  if (!o->ntemperatures) PetscCall(PetscStrlcat(text, "none", len));
  PetscCall(PetscSNPrintf(item, sizeof(item), " %s ", run_options[5]));
  PetscCall(PetscStrlcat(text, item, len));
  for (int g = 0, first = 1; g < DS_DIAGNOSTIC_GROUPS; g++)
    if (o->diagnostics & (1 << g)) {
      PetscCall(PetscSNPrintf(item, sizeof(item), "%s%s", first ? "" : ",", DSDiagnosticGroups[g]));
      PetscCall(PetscStrlcat(text, item, len));
      first = 0;
    }
  if (!o->diagnostics) PetscCall(PetscStrlcat(text, "none", len));
  PetscCall(PetscSNPrintf(item, sizeof(item), " %s %s", run_options[6], DSJointFloors[o->joint_floor]));
  PetscCall(PetscStrlcat(text, item, len));
  PetscFunctionReturn(0);
}

/* The value of `option` in a description (ds_preflight_describe_run) into value, or "". */
static void described_value(const char *text, const char *option, char value[], size_t len)
{
  char        key[80];
  const char *at;
  size_t      n = 0;

  snprintf(key, sizeof(key), "%s ", option);
  value[0] = 0;
  for (at = strstr(text, key); at && at != text && at[-1] != ' '; at = strstr(at + 1, key)) {}
  if (!at) return;
  at += strlen(key);
  while (at[n] && at[n] != ' ' && n + 1 < len) n++;
  memcpy(value, at, n);
  value[n] = 0;
}

/* Refuses a bandwidth option given on the command line whose value (`given`) differs from
   the checkpoint's (`stored`): a restart continues the checkpoint's schedule. */
static PetscErrorCode check_bandwidth_option(MPI_Comm comm, const DSOptions *o, const char *option, const char *given, const char *stored)
{
  PetscBool has;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsHasName(NULL, NULL, option, &has));
  PetscCheck(!has || !strcmp(given, stored), comm, PETSC_ERR_USER_INPUT, "%s %s contradicts -drift_restart %s, written with %s %s: a restart continues the checkpoint's bandwidth schedule (leave %s out, or give %s)", option, given, o->restart, option, stored, option, stored);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_preflight_restart(MPI_Comm comm, const DSOptions *o, const DSCheckpointState *cp)
{
  char ours[sizeof(cp->run)], mine[256], theirs[256];

  PetscFunctionBeginUser;
  PetscCheck(cp->dim == o->dim && cp->n == o->n, comm, PETSC_ERR_USER_INPUT, "-drift_restart %s holds %" PetscInt_FMT " particles in %" PetscInt_FMT " dimensions; this run has -drift_n %" PetscInt_FMT " -drift_dim %" PetscInt_FMT, o->restart, cp->n, cp->dim, o->n, o->dim);
  PetscCheck(cp->seed == o->seed, comm, PETSC_ERR_USER_INPUT, "-drift_restart %s was written with -drift_seed %" PetscInt_FMT " (this run has %" PetscInt_FMT "): the target samples would differ", o->restart, cp->seed, o->seed);
  /* Older checkpoints have no description: what they lack is not compared. */
  PetscCall(ds_preflight_describe_run(o, ours, sizeof(ours)));
  for (size_t k = 0; k < sizeof(run_options) / sizeof(run_options[0]); k++) {
    described_value(ours, run_options[k], mine, sizeof(mine));
    described_value(cp->run, run_options[k], theirs, sizeof(theirs));
    PetscCheck(!theirs[0] || !strcmp(mine, theirs), comm, PETSC_ERR_USER_INPUT, "%s %s contradicts -drift_restart %s, written with %s %s: a restart continues the checkpoint's run with its options", run_options[k], mine, o->restart, run_options[k], theirs);
  }
  if (cp->bandwidth.rule == DS_BANDWIDTH_FIXED) {
    PetscCall(PetscSNPrintf(mine, sizeof(mine), "%.15g", (double)o->bandwidth));
    PetscCall(PetscSNPrintf(theirs, sizeof(theirs), "%.15g", (double)cp->bandwidth.h0));
    PetscCall(check_bandwidth_option(comm, o, "-drift_bandwidth", mine, theirs));
  }
  PetscCall(check_bandwidth_option(comm, o, "-drift_bandwidth_rule", DSBandwidthRules[o->bandwidth_rule], DSBandwidthRules[cp->bandwidth.rule]));
  PetscCall(PetscSNPrintf(mine, sizeof(mine), "%.15g", (double)o->bandwidth_anneal));
  PetscCall(PetscSNPrintf(theirs, sizeof(theirs), "%.15g", (double)cp->bandwidth.anneal));
  PetscCall(check_bandwidth_option(comm, o, "-drift_bandwidth_anneal", mine, theirs));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_preflight_initial_field(MPI_Comm comm, const DSOptions *o, PetscReal t, PetscReal h, PetscInt particle)
{
  PetscFunctionBeginUser;
  if (particle < 0) PetscFunctionReturn(0);
  if (o->restart[0])
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "the field at the state of -drift_restart %s (t = %g, h = %g) is not finite for particle %" PetscInt_FMT ": the kernel sums overflow or underflow; check -drift_bandwidth and -drift_target_scale%s. Nothing was written", o->restart, (double)t, (double)h, particle,
            o->kernel == DS_KERNEL_IMQ ? " and -drift_imq_beta" : "");
  SETERRQ(comm, PETSC_ERR_USER_INPUT, "the field at the initial state (h = %g) is not finite for particle %" PetscInt_FMT ": the kernel sums overflow or underflow; check -drift_bandwidth, -drift_init_scale, -drift_init_mean, -drift_target_scale%s (or the -drift_init_file cloud). Nothing was written", (double)h, particle,
          o->kernel == DS_KERNEL_IMQ ? " and -drift_imq_beta" : "");
}

/* The checks before anything is written (ds_preflight.h). The path checks run on rank 0,
   which broadcasts its verdict: the file system may differ between ranks' views only in
   timing, and one rank deciding keeps the refusal collective. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ds_preflight.h"
#include "ds_h5util.h"
#include "ds_optfiles.h"
#include "ds_output.h"
#include "ds_ecf.h"

/* The identity of a path: device and inode of an existing file, else the resolved
   directory and the name (a file that does not exist yet). */
typedef struct {
  PetscBool exists;
  dev_t     dev;
  ino_t     ino;
  char      resolved[PATH_MAX + NAME_MAX + 2];
} Identity;

/* A path the run reads or writes, the option (or description) that named it, where that
   option was ("" on the command line), its identity. */
typedef struct {
  const char *option, *path, *where;
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
        snprintf(reason, len, "%s %s%s is the same file as %s %s%s: writing it would destroy that file; give another name", w[i].option, w[i].path, w[i].where, p[j].option, p[j].path, p[j].where);
}

/* Every options file PETSc read, the nested ones too (ds_options_files_walk): each one's
   name and " (included by FROM)" (empty on the command line), then, once all are listed
   (the text may move while it grows), as "-options_file NAME" inputs. */
typedef struct {
  int       count, size;
  char    (*text)[2][PETSC_MAX_PATH_LEN + 32];
  NamedPath *paths;
  PetscBool failed; /* out of memory */
} OptionsFiles;

static void add_options_file(const char *name, const char *from, void *ctx)
{
  OptionsFiles *files = (OptionsFiles *)ctx;

  if (files->count == files->size) {
    const int size = files->size ? 2 * files->size : 8;
    void     *text = realloc(files->text, (size_t)size * sizeof(*files->text));
    if (!text) {
      files->failed = PETSC_TRUE;
      return;
    }
    files->text = text;
    files->size = size;
  }
  snprintf(files->text[files->count][0], sizeof(files->text[0][0]), "%s", name);
  if (from) snprintf(files->text[files->count][1], sizeof(files->text[0][1]), " (included by %s)", from);
  else files->text[files->count][1][0] = 0;
  files->count++;
}

/* The weights files' options, by column set (ds_options.h). */
static const char *const weights_options[DS_COLUMN_SETS] = {"-drift_particle_weights_file", "-drift_negatives_weights_file", "-drift_data_weights_file"};

/* Rank 0's verdict on the paths (ds_preflight_paths). */
static PetscErrorCode paths_problem(const DSOptions *o, const char *checkpoint, char reason[], size_t len)
{
  NamedPath    outs[4], ins[3 + DS_COLUMN_SETS]; /* init, target, negatives, the weights files */
  OptionsFiles files = {0};
  char         tmp[PETSC_MAX_PATH_LEN], prev[PETSC_MAX_PATH_LEN], no_message[8];
  int          nout = 0, nin = 0, argc;
  char       **args;
  const char  *cp_option = o->checkpoint[0] ? "-drift_checkpoint" : "the checkpoint";

  PetscFunctionBeginUser;
  reason[0] = 0;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", checkpoint));
  PetscCall(PetscSNPrintf(prev, sizeof(prev), "%s.prev", checkpoint));
  if (o->output[0]) outs[nout++] = (NamedPath){"-drift_output", o->output, "", {0}};
  outs[nout++] = (NamedPath){cp_option, checkpoint, "", {0}};
  outs[nout++] = (NamedPath){cp_option, tmp, "", {0}};
  outs[nout++] = (NamedPath){cp_option, prev, "", {0}};
  if (o->init_file[0]) ins[nin++] = (NamedPath){"-drift_init_file", o->init_file, "", {0}};
  if (o->target_file[0]) ins[nin++] = (NamedPath){"-drift_target_file", o->target_file, "", {0}};
  if (o->negatives_file[0]) ins[nin++] = (NamedPath){"-drift_negatives_file", o->negatives_file, "", {0}};
  for (int set = 0; set < DS_COLUMN_SETS; set++)
    if (o->weights_file[set][0]) ins[nin++] = (NamedPath){weights_options[set], o->weights_file[set], "", {0}};
  PetscCall(PetscGetArgs(&argc, &args));
  (void)ds_options_files_walk(argc, args, add_options_file, &files, no_message, sizeof(no_message)); /* all readable: main checked them */
  PetscCheck(!files.failed, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory listing the options files");
  PetscCall(PetscMalloc1(files.count, &files.paths));
  for (int k = 0; k < files.count; k++) files.paths[k] = (NamedPath){"-options_file", files.text[k][0], files.text[k][1], {0}};
  for (int k = 0; k < nout; k++) identify(outs[k].path, &outs[k].id);
  for (int k = 0; k < nin; k++) identify(ins[k].path, &ins[k].id);
  for (int k = 0; k < files.count; k++) identify(files.paths[k].path, &files.paths[k].id);
  /* The output against the checkpoint files and every input; the checkpoint files
     against every input but the restart, which a continued run checkpoints over. */
  first_clash(outs, o->output[0] ? 1 : 0, outs, nout, reason, len);
  if (o->restart[0] && !reason[0]) {
    NamedPath restart = {"-drift_restart", o->restart, "", {0}};
    identify(o->restart, &restart.id);
    first_clash(outs, o->output[0] ? 1 : 0, &restart, 1, reason, len);
  }
  first_clash(outs, nout, ins, nin, reason, len);
  first_clash(outs, nout, files.paths, files.count, reason, len);
  PetscCall(PetscFree(files.paths));
  free(files.text);
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
static const char *const run_options[] = {"-drift_field", "-drift_kernel", "-drift_self", "-drift_target", "-drift_temperatures", "-drift_diagnostics", "-drift_joint_floor", "-drift_sinkhorn_epsilon", "-drift_sinkhorn_cost", "-drift_ecf_shells", "-drift_ecf_directions"};

PetscErrorCode ds_preflight_describe_run(const DSOptions *o, char text[], size_t len)
{
  char item[160], temperatures[DS_MAX_TEMPERATURES * 32], shells[DS_ECF_SHELLS_TEXT];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(text, len, "%s %s %s %s %s %s %s %s %s ", run_options[0], o->field, run_options[1], DSKernelTypes[o->kernel], run_options[2], DSSelfPairs[o->self], run_options[3], DSTargetTypes[o->target], run_options[4]));
  PetscCall(ds_options_temperatures_text(o, temperatures, sizeof(temperatures)));
  PetscCall(PetscStrlcat(text, o->ntemperatures ? temperatures : "none", len));
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
  PetscCall(PetscSNPrintf(item, sizeof(item), " %s %.15g %s %s %s ", run_options[7], (double)o->sinkhorn_epsilon, run_options[8], DSSinkhornCosts[o->sinkhorn_cost], run_options[9]));
  PetscCall(PetscStrlcat(text, item, len));
  ds_ecf_shells_text(o->necf_shells, o->ecf_shells, shells, sizeof(shells));
  PetscCall(PetscStrlcat(text, shells, len));
  PetscCall(PetscSNPrintf(item, sizeof(item), " %s %" PetscInt_FMT, run_options[10], o->ecf_directions));
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

/* The root attribute `name` of `file` as text (malloc'ed; NULL when missing or unreadable):
   a string as stored, an integer in decimal, a float as %.15g. */
static char *attribute_text(hid_t file, const char *name)
{
  char  *text = NULL;
  hid_t  attr = H5Aexists(file, name) > 0 ? H5Aopen(file, name, H5P_DEFAULT) : H5I_INVALID_HID;
  hid_t  type = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
  double real;
  long long integer;

  switch (type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS) {
  case H5T_STRING:
    if (H5Tis_variable_str(type) > 0) {
      char *stored = NULL;
      if (H5Aread(attr, type, &stored) >= 0 && stored) text = strdup(stored);
      H5free_memory(stored);
    } else if ((text = calloc(H5Tget_size(type) + 1, 1)) && H5Aread(attr, type, text) < 0) {
      free(text);
      text = NULL;
    }
    break;
  case H5T_INTEGER:
    if (H5Aread(attr, H5T_NATIVE_LLONG, &integer) >= 0 && (text = malloc(32))) snprintf(text, 32, "%lld", integer);
    break;
  case H5T_FLOAT:
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, &real) >= 0 && (text = malloc(32))) snprintf(text, 32, "%.15g", real);
    break;
  default:
    break;
  }
  if (type >= 0) H5Tclose(type);
  if (attr >= 0) H5Aclose(attr);
  return text;
}

/* The snapshots of `file` complete in both /particles/step and /particles/position: the
   step of the last one, or -1 when there is none. */
static long long last_snapshot_step(hid_t file)
{
  const char *series[2] = {"/particles/step", "/particles/position"};
  hsize_t     rows = 0, dims[3];
  long long   step = -1;
  hid_t       dset[2];

  if (H5Lexists(file, "/particles", H5P_DEFAULT) <= 0) return -1;
  for (int k = 0; k < 2; k++) {
    dset[k]     = H5Lexists(file, series[k], H5P_DEFAULT) > 0 ? H5Dopen2(file, series[k], H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t space = dset[k] >= 0 ? H5Dget_space(dset[k]) : H5I_INVALID_HID;
    if (space < 0 || H5Sget_simple_extent_ndims(space) < 1 || H5Sget_simple_extent_ndims(space) > 3 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) dims[0] = 0;
    rows = k ? PetscMin(rows, dims[0]) : dims[0];
    if (space >= 0) H5Sclose(space);
  }
  if (rows > 0) {
    const hsize_t last = rows - 1, one = 1;
    hid_t         space = H5Dget_space(dset[0]), memory = H5Screate_simple(1, &one, NULL);
    if (H5Sselect_hyperslab(space, H5S_SELECT_SET, &last, NULL, &one, NULL) < 0 || H5Dread(dset[0], H5T_NATIVE_LLONG, memory, space, H5P_DEFAULT, &step) < 0) step = -1;
    H5Sclose(memory);
    H5Sclose(space);
  }
  for (int k = 0; k < 2; k++)
    if (dset[k] >= 0) H5Dclose(dset[k]);
  return step;
}

/* The last snapshot step before `step` of a run writing one every `every` steps (the
   checkpoint of a step precedes that step's rows); -1 when there is none. */
static long long snapshot_before(PetscInt step, long long every) { return step >= 1 && every >= 1 ? ((step - 1) / every) * every : -1; }

/* Rank 0's verdict on the existing output a restart appends to (check_restart_output). */
static void restart_output_problem(const DSOptions *o, const DSCheckpointState *cp, PetscInt default_every, char reason[], size_t len)
{
  char        h0[32], seed[32], n[32], dim[32], every[32];
  hid_t       file;

  reason[0] = 0;
  if (access(o->output, F_OK) || H5Fis_hdf5(o->output) <= 0 || (file = H5Fopen(o->output, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) return; /* created anew, or refused by ds_output_reopen */
  snprintf(h0, sizeof(h0), "%.15g", (double)cp->bandwidth.h0);
  snprintf(seed, sizeof(seed), "%lld", (long long)cp->seed);
  snprintf(n, sizeof(n), "%lld", (long long)cp->n);
  snprintf(dim, sizeof(dim), "%lld", (long long)cp->dim);
  /* The output's description of its run against the checkpoint's run (whose field, kernel,
     self pair and target ds_preflight_restart found equal to the options'). */
  const struct {
    const char *attribute, *option, *value;
  } same[] = {
    {"n", "-drift_n", n}, {"dim", "-drift_dim", dim}, {"seed", "-drift_seed", seed}, {"field", "-drift_field", o->field}, {"kernel", "-drift_kernel", DSKernelTypes[o->kernel]}, {"self", "-drift_self", DSSelfPairs[o->self]}, {"target", "-drift_target", DSTargetTypes[o->target]},
    {"bandwidth_rule", "-drift_bandwidth_rule", DSBandwidthRules[cp->bandwidth.rule]}, {"bandwidth_h0", "the initial bandwidth h0", h0},
  };
  for (size_t k = 0; k < sizeof(same) / sizeof(same[0]) && !reason[0]; k++) {
    char *theirs = attribute_text(file, same[k].attribute);
    if (theirs && strcasecmp(theirs, same[k].value))
      snprintf(reason, len, "-drift_output %s was written by another run (with %s %s; -drift_restart %s continues a run with %s %s): nothing was cut; give the output of the checkpoint's run, or another -drift_output name", o->output, same[k].option, theirs, o->restart, same[k].option, same[k].value);
    free(theirs);
  }
  /* Its snapshots against the checkpoint's step: the last one must not be older than the
     last the checkpoint's run wrote before that step, at the cadence the output records
     (its options text, or the default when that does not name one) or this run's,
     whichever asks less. */
  char     *options = attribute_text(file, "options");
  long long recorded = o->output_every, last = reason[0] ? 0 : last_snapshot_step(file);
  if (options) {
    described_value(options, "-drift_output_every", every, sizeof(every));
    recorded = every[0] ? atoll(every) : default_every;
    free(options);
  }
  const long long wanted = PetscMin(snapshot_before(cp->step, recorded), snapshot_before(cp->step, o->output_every));
  if (!reason[0] && last < wanted) {
    if (last < 0) snprintf(reason, len, "-drift_output %s holds no snapshot, but -drift_restart %s (step %" PetscInt_FMT ") was written after its run's snapshot of step %lld: the output is not that run's; nothing was cut; give the output of the checkpoint's run, or another -drift_output name", o->output, o->restart, cp->step, wanted);
    else snprintf(reason, len, "-drift_output %s ends with the snapshot of step %lld, but -drift_restart %s (step %" PetscInt_FMT ") was written after its run's snapshot of step %lld: the output is older than the checkpoint, or another run's; nothing was cut; give the output of the checkpoint's run, or another -drift_output name", o->output, last, o->restart, cp->step, wanted);
  }
  H5Fclose(file);
}

/* A restart that appends to an existing -drift_output: the output must be the checkpoint's
   run's and reach the checkpoint's last snapshot (restart_output_problem, on rank 0 with
   HDF5's error printing off). Collective; reads the file only. */
static PetscErrorCode check_restart_output(MPI_Comm comm, const DSOptions *o, const DSCheckpointState *cp)
{
  char        reason[3 * PETSC_MAX_PATH_LEN + 512] = "";
  PetscMPIInt rank;
  DSH5Quiet   quiet;
  DSOptions   defaults;

  PetscFunctionBeginUser;
  if (!o->output[0]) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(ds_options_set_defaults(&defaults));
  if (!rank) {
    PetscCall(ds_h5_quiet_begin(DS_H5_UNLOGGED, &quiet));
    restart_output_problem(o, cp, defaults.output_every, reason, sizeof(reason));
    PetscCall(ds_h5_quiet_end(&quiet));
  }
  PetscCallMPI(MPI_Bcast(reason, sizeof(reason), MPI_CHAR, 0, comm));
  PetscCheck(!reason[0], comm, PETSC_ERR_USER_INPUT, "%s", reason);
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
  PetscCall(check_restart_output(comm, o, cp));
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

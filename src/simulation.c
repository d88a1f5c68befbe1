/* The driver: PETSc TS integrates the particle ODE dx_i/dt = v(x_i); a monitor writes the
   progress line, the diagnostics and the particle snapshots; the run ends with the
   PERF_SUMMARY line. Every input is validated before the output file is opened. */
#include <petscts.h>
#include "ds_simulation.h"
#include "ds_options.h"
#include "ds_target.h"
#include "ds_init.h"
#include "ds_bandwidth.h"
#include "ds_field.h"
#include "ds_diagnostics.h"
#include "ds_io.h"
#include "ds_log.h"

typedef struct {
  MPI_Comm       comm;
  DSOptions      opts;
  DSTarget      *target;
  DSField        field;
  DSOutput       output;
  DSBandwidth    bandwidth;
  Vec            velocity;        /* the field at the last monitored state */
  Vec            velocity_points; /* the positions `velocity` belongs to */
  PetscReal      velocity_time;
  PetscBool      velocity_valid;
  PetscInt       rhs_evaluations; /* field evaluations done (cache hits excluded) */
  PetscInt       last_snapshot_step, last_diagnostics_step, last_printed_step;
  PetscLogDouble wall_start;
} Simulation;

/* True on every rank when X holds, on every rank, the positions `velocity` belongs to at
   time t: the field there is already known (the monitor computed it before this step). */
static PetscErrorCode velocity_is_known(Simulation *sim, PetscReal t, Vec X, PetscBool *known)
{
  const PetscScalar *x, *y;
  PetscInt           n;
  int                same = 0, all = 0;

  PetscFunctionBeginUser;
  if (sim->velocity_valid && t == sim->velocity_time) {
    PetscCall(VecGetLocalSize(X, &n));
    PetscCall(VecGetArrayRead(X, &x));
    PetscCall(VecGetArrayRead(sim->velocity_points, &y));
    same = !memcmp(x, y, (size_t)n * sizeof(*x));
    PetscCall(VecRestoreArrayRead(sim->velocity_points, &y));
    PetscCall(VecRestoreArrayRead(X, &x));
  }
  PetscCallMPI(MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_LAND, sim->comm));
  *known = all ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* F = v(X): the field, or the monitor's copy when X is the state it was computed at. */
static PetscErrorCode rhs_function(TS ts, PetscReal t, Vec X, Vec F, void *ctx)
{
  Simulation *sim = (Simulation *)ctx;
  PetscBool   known;

  PetscFunctionBeginUser;
  PetscCall(velocity_is_known(sim, t, X, &known));
  if (known) PetscCall(VecCopy(sim->velocity, F));
  else {
    PetscCall(ds_field_evaluate(sim->field, ds_bandwidth_at(&sim->bandwidth, t), X, F));
    sim->rhs_evaluations++;
  }
  PetscFunctionReturn(0);
}

/* The field at the monitored state, with the field's own diagnostics, kept for the next
   RHS evaluation at the same state. */
static PetscErrorCode update_velocity(Simulation *sim, PetscReal t, Vec X)
{
  PetscBool known;

  PetscFunctionBeginUser;
  PetscCall(velocity_is_known(sim, t, X, &known));
  if (known) PetscFunctionReturn(0);
  PetscCall(ds_field_set_diagnostics(sim->field, PETSC_TRUE));
  PetscCall(ds_field_evaluate(sim->field, ds_bandwidth_at(&sim->bandwidth, t), X, sim->velocity));
  PetscCall(ds_field_set_diagnostics(sim->field, PETSC_FALSE));
  sim->rhs_evaluations++;
  PetscCall(VecCopy(X, sim->velocity_points));
  sim->velocity_time  = t;
  sim->velocity_valid = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Fraction of the run done, from the step and time limits, for the time-left estimate. */
static PetscErrorCode run_fraction(TS ts, PetscInt step, PetscReal t, PetscReal *fraction)
{
  PetscInt  max_steps;
  PetscReal max_time, start_time;

  PetscFunctionBeginUser;
  PetscCall(TSGetMaxSteps(ts, &max_steps));
  PetscCall(TSGetMaxTime(ts, &max_time));
  start_time = 0.0;
  *fraction  = max_steps > 0 ? (PetscReal)step / max_steps : 0.0;
  if (max_time < PETSC_MAX_REAL / 2 && max_time > start_time) *fraction = PetscMax(*fraction, (t - start_time) / (max_time - start_time));
  PetscFunctionReturn(0);
}

/* Diagnostics row, progress line and snapshot of one state, as far as each is due. The
   row holds the bandwidth in force (not for the multitemperature field, whose bandwidths
   s tau are in its own diagnostics), the velocity diagnostics and the field's own. */
static PetscErrorCode record_state(TS ts, Simulation *sim, PetscInt step, PetscReal t, Vec X, PetscBool force)
{
  const DSOptions *o           = &sim->opts;
  const PetscBool  print       = o->monitor_every > 0 && step != sim->last_printed_step && (force || step % o->monitor_every == 0);
  const PetscBool  snapshot    = sim->output && step != sim->last_snapshot_step && (force || step % o->output_every == 0);
  const PetscBool  diagnostics = step != sim->last_diagnostics_step;
  const PetscBool  with_h      = o->field != DS_FIELD_MULTITEMPERATURE;
  const char      *names[3 + DS_FIELD_MAX_OWN_DIAGNOSTICS];
  PetscReal        values[3 + DS_FIELD_MAX_OWN_DIAGNOSTICS];
  PetscInt         count = 0, field_count;
  const char *const *field_names;
  const PetscReal   *field_values;

  PetscFunctionBeginUser;
  if (!print && !snapshot && !diagnostics) PetscFunctionReturn(0);
  PetscCall(update_velocity(sim, t, X));
  if (with_h) {
    names[count]    = "bandwidth";
    values[count++] = ds_bandwidth_at(&sim->bandwidth, t);
  }
  names[count]     = "rms_velocity";
  names[count + 1] = "center_velocity_sq";
  PetscCall(ds_diagnostics_velocity(sim->velocity, &values[count], &values[count + 1]));
  const PetscReal rms_velocity = values[count];
  count += 2;
  PetscCall(ds_field_get_diagnostics(sim->field, &field_count, &field_names, &field_values));
  for (PetscInt k = 0; k < field_count; k++) {
    names[count]    = field_names[k];
    values[count++] = field_values[k];
  }
  if (diagnostics && sim->output) PetscCall(ds_output_write_diagnostics(sim->output, step, t, count, names, values));
  sim->last_diagnostics_step = step;
  if (snapshot) {
    PetscCall(ds_output_write_particles(sim->output, step, t, X, o->output_velocity ? sim->velocity : NULL));
    sim->last_snapshot_step = step;
  }
  if (print) {
    PetscReal      dt, fraction = 0;
    PetscLogDouble now;
    PetscCall(TSGetTimeStep(ts, &dt));
    PetscCall(PetscTime(&now));
    PetscCall(run_fraction(ts, step, t, &fraction));
    const double wall = now - sim->wall_start, left = fraction > 0 ? wall * (1 - fraction) / fraction : 0;
    PetscCall(PetscPrintf(sim->comm, "step %6" PetscInt_FMT "  t %.6e  dt %.3e  rms_velocity %.6e  wall %.1f s  left %.1f s\n", step, (double)t, (double)dt, (double)rms_velocity, wall, left));
    sim->last_printed_step = step;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode monitor(TS ts, PetscInt step, PetscReal t, Vec X, void *ctx)
{
  PetscFunctionBeginUser;
  PetscCall(record_state(ts, (Simulation *)ctx, step, t, X, PETSC_FALSE));
  PetscFunctionReturn(0);
}

/* TSSetFromOptions; a bad -ts_* value becomes bad input, reported with PETSc's reason. */
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

/* Refuses -drift_* options that no reader took (typos would otherwise be ignored). */
static PetscErrorCode check_unknown_options(MPI_Comm comm)
{
  PetscInt n;
  char   **names, **values;
  char     unknown[PETSC_MAX_PATH_LEN] = "";

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  for (PetscInt i = 0; i < n; i++) {
    PetscBool drift;
    PetscCall(PetscStrbeginswith(names[i], "drift_", &drift));
    if (drift && !unknown[0]) PetscCall(PetscSNPrintf(unknown, sizeof(unknown), "-%s", names[i]));
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscCheck(!unknown[0], comm, PETSC_ERR_USER_INPUT, "%s is not a driftsim option (run with -help for the list)", unknown);
  PetscFunctionReturn(0);
}

static PetscErrorCode perf_summary(Simulation *sim, PetscLogDouble wall)
{
  PetscLogDouble local_pairs, pairs;
  PetscMPIInt    size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(sim->comm, &size));
  PetscCall(ds_field_get_pair_count(sim->field, &local_pairs));
  PetscCallMPI(MPI_Allreduce(&local_pairs, &pairs, 1, MPI_DOUBLE, MPI_SUM, sim->comm));
  PetscCall(PetscPrintf(sim->comm, "PERF_SUMMARY ranks=%d n=%" PetscInt_FMT " dim=%" PetscInt_FMT " rhs_evals=%" PetscInt_FMT " pairs=%.0f wall_s=%.6f pairs_per_s=%.6e pairs_per_s_per_rank=%.6e\n", size, sim->opts.n, sim->opts.dim,
                        sim->rhs_evaluations, pairs, wall, wall > 0 ? pairs / wall : 0.0, wall > 0 ? pairs / wall / size : 0.0));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_simulation_run(MPI_Comm comm)
{
  Simulation     sim;
  TS             ts;
  Vec            X;
  PetscBool      help;
  PetscInt       steps;
  PetscReal      t;
  PetscLogDouble solve_end;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&sim, sizeof(sim)));
  sim.comm                  = comm;
  sim.last_snapshot_step    = -1;
  sim.last_diagnostics_step = -1;
  sim.last_printed_step     = -1;
  PetscCall(ds_log_register());

  /* Everything the user gave is read and checked before anything is written. */
  PetscCall(ds_options_read(comm, &sim.opts));
  PetscCall(TSCreate(comm, &ts));
  PetscCall(TSSetProblemType(ts, TS_NONLINEAR));
  PetscCall(TSSetType(ts, TSEULER));
  PetscCall(TSSetTimeStep(ts, 0.1));
  PetscCall(TSSetMaxSteps(ts, 100));
  PetscCall(TSSetMaxTime(ts, PETSC_MAX_REAL));
  PetscCall(TSSetExactFinalTime(ts, TS_EXACTFINALTIME_MATCHSTEP));
  PetscCall(ts_set_from_options(comm, ts));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    PetscCall(TSDestroy(&ts));
    PetscFunctionReturn(0);
  }
  PetscCall(check_unknown_options(comm));
  if (sim.opts.output[0]) PetscCall(ds_output_check_path(comm, "-drift_output", sim.opts.output));
  PetscCall(ds_target_create(comm, &sim.opts, &sim.target));

  PetscCall(ds_init_create_particles(comm, sim.opts.n, sim.opts.dim, &X));
  PetscCall(ds_init_cloud(&sim.opts, X));
  PetscCall(ds_bandwidth_create(comm, &sim.opts, sim.target, X, &sim.bandwidth));
  PetscCall(VecDuplicate(X, &sim.velocity));
  PetscCall(VecDuplicate(X, &sim.velocity_points));
  {
    PetscInt local;
    PetscCall(VecGetLocalSize(X, &local));
    PetscCall(ds_field_create(comm, &sim.opts, sim.target, local / sim.opts.dim, &sim.field));
  }
  PetscCall(TSSetRHSFunction(ts, NULL, rhs_function, &sim));
  PetscCall(TSMonitorSet(ts, monitor, &sim, NULL));
  if (sim.opts.output[0]) PetscCall(ds_output_open(comm, &sim.opts, sim.target, &sim.bandwidth, &sim.output));

  PetscCall(PetscTime(&sim.wall_start));
  PetscCall(TSSolve(ts, X));
  PetscCall(TSGetStepNumber(ts, &steps));
  PetscCall(TSGetSolveTime(ts, &t));
  PetscCall(record_state(ts, &sim, steps, t, X, PETSC_TRUE));
  PetscCall(PetscTime(&solve_end));
  PetscCall(perf_summary(&sim, solve_end - sim.wall_start));
  if (sim.output) {
    PetscCall(ds_output_close(&sim.output));
    PetscCall(PetscPrintf(comm, "output written to %s\n", sim.opts.output));
  }

  PetscCall(ds_field_destroy(&sim.field));
  PetscCall(VecDestroy(&sim.velocity));
  PetscCall(VecDestroy(&sim.velocity_points));
  PetscCall(VecDestroy(&X));
  PetscCall(TSDestroy(&ts));
  PetscCall(ds_target_destroy(&sim.target));
  PetscFunctionReturn(0);
}

/* The driver: PETSc TS integrates the particle ODE dx_i/dt = v(x_i); a monitor writes the
   progress line, the diagnostics and the particle snapshots; a post-step hook keeps the
   last good state, writes checkpoints and answers SIGTERM/SIGUSR1; the run ends with the
   PERF_SUMMARY line. Every input is validated before the output file is opened. */
#include <stdio.h>
#include <petscts.h>
#include <petsc/private/petscimpl.h> /* PetscObjectStateGet: PETSc declares it in its developer header */
#include "ds_simulation.h"
#include "ds_options.h"
#include "ds_target.h"
#include "ds_init.h"
#include "ds_bandwidth.h"
#include "ds_checkpoint.h"
#include "ds_preflight.h"
#include "ds_guard.h"
#include "ds_signals.h"
#include "ds_field.h"
#include "ds_diagnostics.h"
#include "ds_output.h"
#include "ds_stein.h"
#include "ds_theorem.h"
#include "ds_log.h"

/* The theorem group's columns of a diagnostics row (record_state). */
#define THEOREM_DIAGNOSTICS 10

typedef struct {
  MPI_Comm       comm;
  DSOptions      opts;
  DSTarget      *target;
  DSField        field;
  DSDiagnostics  diagnostics;
  DSOutput       output;
  /* The theorem group (-drift_diagnostics theorem, with an output file): the running
     integrals (every step), the Stein quantities (conservative gaussian field), the
     initial KL and its standard error. */
  PetscBool          theorem;
  DSStein            stein;
  DSTheoremIntegrals integrals;
  PetscReal          kl, kl_standard_error;
  DSBandwidth    bandwidth;
  Vec              velocity;        /* the field at the last monitored state */
  Vec              velocity_points; /* a copy of the positions `velocity` belongs to */
  PetscObjectId    velocity_vec;    /* the Vec they were in, and its object state then */
  PetscObjectState velocity_state;
  PetscReal        velocity_time;
  PetscBool        velocity_valid;
  PetscInt       rhs_evaluations; /* field evaluations done (cache hits excluded) */
  PetscInt       last_snapshot_step, last_diagnostics_step, last_printed_step;
  PetscLogDouble wall_start;
  char           checkpoint[PETSC_MAX_PATH_LEN]; /* where checkpoints go */
  PetscLogDouble last_checkpoint_wall;
  /* The last good state: the latest one from which a whole step succeeded. `pending` is the
     newest state, promoted when the step out of it completes. */
  Vec            last_good, pending;
  DSCheckpointState last_good_state, pending_state;
  DSGuard        guard;           /* stops the run when the particles leave its ball */
  int            stopped_by;      /* the signal that ended the run early, or 0 */
  PetscBool      started;         /* the initial field was found finite; files may be written */
} Simulation;

/* Writes the last good state to the checkpoint the user named (-drift_checkpoint, or next
   to -drift_output; with neither nothing is saved) and stops the run with error `code` and
   `problem`, what went wrong at which step, followed by `advice` for the restart. */
static const char smaller_step[] = " (e.g. with a smaller -ts_dt)"; /* the advice after a diverged state */

static PetscErrorCode stop_at_last_good(Simulation *sim, PetscErrorCode code, const char *problem, const char *advice)
{
  const DSCheckpointState *good = &sim->last_good_state;

  PetscFunctionBeginUser;
  PetscCheck(sim->opts.checkpoint[0] || sim->opts.output[0], sim->comm, code, "%s; nothing was saved (give -drift_checkpoint FILE to keep the last good state)", problem);
  PetscCall(ds_checkpoint_write(sim->comm, sim->checkpoint, sim->last_good, good));
  SETERRQ(sim->comm, code, "%s; the last good state (step %" PetscInt_FMT ", t = %g) is saved in %s: restart with -drift_restart %s%s", problem, good->step, (double)good->time, sim->checkpoint, sim->checkpoint, advice);
}

/* The field at X and time t into F, refusing a non-finite velocity. A field whose
   iterations did not converge (the sinkhorn field) after the first state stops the run
   like a non-finite one, the last good state saved. */
static PetscErrorCode evaluate_field(Simulation *sim, PetscInt step, PetscReal t, Vec X, Vec F)
{
  PetscInt       particle;
  char           problem[1024];
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  ierr = ds_field_evaluate(sim->field, ds_bandwidth_at(&sim->bandwidth, t), X, F);
  if (ierr == PETSC_ERR_NOT_CONVERGED && sim->started) {
    char *message = NULL;
    PetscCall(PetscErrorMessage(ierr, NULL, &message));
    PetscCall(PetscSNPrintf(problem, sizeof(problem), "%s (step %" PetscInt_FMT ", t = %g)", message ? message : "the field's iterations did not converge", step, (double)t));
    PetscCall(stop_at_last_good(sim, ierr, problem, ""));
  }
  PetscCall(ierr);
  sim->rhs_evaluations++;
  PetscCall(ds_guard_first_nonfinite(F, &particle));
  if (!sim->started) PetscCall(ds_preflight_initial_field(sim->comm, &sim->opts, t, ds_bandwidth_at(&sim->bandwidth, t), particle));
  if (particle < 0) PetscFunctionReturn(0);
  PetscCall(PetscSNPrintf(problem, sizeof(problem), "non-finite velocity at step %" PetscInt_FMT " (t = %g) for particle %" PetscInt_FMT, step, (double)t, particle));
  PetscCall(stop_at_last_good(sim, PETSC_ERR_FP, problem, smaller_step));
  PetscFunctionReturn(0);
}

/* True on every rank when X holds the positions `velocity` belongs to at time t: the field
   there is already known (the monitor computed it before this step). The answer must be
   the same on every rank (a rank that evaluates enters collective ring passes), and it is,
   without a message in the common case:
   - a time other than the monitored one (every RK stage but the first) is a miss, and TS
     gives every rank the same time;
   - the monitored Vec itself (Euler's RHS is called on TS's solution, the Vec the monitor
     saw) is a hit when its object state is the one recorded. Object states are counted per
     rank, but only changes are compared, and every change to the Vec comes from the same
     sequence of calls on every rank (TS's step and driftsim's hooks run the same code on
     each rank, and nothing between monitor and RHS writes to it on some ranks only);
   - another Vec at the monitored time is a stage vector, which explicit RK fills at its
     first stage with a copy of the state: the contents decide (VecEqual: memcmp here and
     one MPI_Allreduce, entered by every rank since the two conditions above agree, at most
     once per monitored state). Without it RK would evaluate the field twice there. */
static PetscErrorCode velocity_is_known(Simulation *sim, PetscReal t, Vec X, PetscBool *known)
{
  PetscObjectId    id;
  PetscObjectState state;

  PetscFunctionBeginUser;
  *known = PETSC_FALSE;
  if (!sim->velocity_valid || t != sim->velocity_time) PetscFunctionReturn(0);
  PetscCall(PetscObjectGetId((PetscObject)X, &id));
  PetscCall(PetscObjectStateGet((PetscObject)X, &state));
  if (id == sim->velocity_vec) *known = state == sim->velocity_state ? PETSC_TRUE : PETSC_FALSE;
  else PetscCall(VecEqual(X, sim->velocity_points, known));
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
    PetscInt step;
    PetscCall(TSGetStepNumber(ts, &step));
    PetscCall(evaluate_field(sim, step, t, X, F));
  }
  PetscFunctionReturn(0);
}

/* The field at the monitored state, with the field's own diagnostics when a row is due,
   kept for the next RHS evaluation at the same state. */
static PetscErrorCode update_velocity(Simulation *sim, PetscInt step, PetscReal t, Vec X, PetscBool own_diagnostics)
{
  PetscBool known;

  PetscFunctionBeginUser;
  PetscCall(velocity_is_known(sim, t, X, &known));
  if (known) PetscFunctionReturn(0);
  PetscCall(PetscObjectGetId((PetscObject)X, &sim->velocity_vec));
  PetscCall(PetscObjectStateGet((PetscObject)X, &sim->velocity_state));
  PetscCall(ds_field_set_diagnostics(sim->field, own_diagnostics));
  PetscCall(evaluate_field(sim, step, t, X, sim->velocity));
  PetscCall(ds_field_set_diagnostics(sim->field, PETSC_FALSE));
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

static PetscReal bandwidth_at(const void *bandwidth, PetscReal t) { return ds_bandwidth_at((const DSBandwidth *)bandwidth, t); }

/* Adds the monitored state at time t, whose root residual velocity is rms, to the theorem's
   running integrals: C_t = rms^2, the field's self term (conservative field; NaN otherwise)
   and C_inf(t) (where the mean-field reference applies; NaN otherwise). A state already
   added is not added again. */
static PetscErrorCode integrate_state(Simulation *sim, PetscReal t, PetscReal rms)
{
  PetscReal self_term = NAN, meanfield = NAN;

  PetscFunctionBeginUser;
  if (sim->integrals.count > 0 && t == sim->integrals.time) PetscFunctionReturn(0);
  if (ds_stein_applies(&sim->opts)) PetscCall(ds_field_get_diagnostic(sim->field, "self_term", &self_term));
  if (ds_meanfield_applies(&sim->opts)) {
    ds_meanfield_advance(&sim->integrals.meanfield, bandwidth_at, &sim->bandwidth, t);
    meanfield = ds_meanfield_centre_velocity(&sim->integrals.meanfield, ds_bandwidth_at(&sim->bandwidth, t));
  }
  ds_theorem_integrals_add(&sim->integrals, t, rms * rms, self_term, meanfield);
  PetscFunctionReturn(0);
}

/* The theorem group's columns at a diagnostics row (THEOREM_DIAGNOSTICS of them):
     c_time_average          (1/t) int_0^t C_s ds
     self_term_time_average  (1/t) int_0^t (a_h/N) R_s ds
     stein_drift             SD_t
     stein_drift_time_average (1/t) int_0^t SD_s ds (trapezoid over the diagnostics rows)
     identity_right          KL(rho_0 || nu_h) / t + self_term_time_average
     identity_gap            identity_right - stein_drift_time_average (>= 0 in expectation)
     fisher, fisher_se       J_t and its Monte-Carlo standard error (-drift_fisher_draws)
     meanfield_velocity      C_inf(t)
     finite_particle_excess  (1/t) int_0^t (C_s - C_inf(s)) ds
   NaN where a quantity does not apply or t = 0. */
static PetscErrorCode theorem_row(Simulation *sim, PetscInt step, PetscReal t, Vec X, const char **names, PetscReal *values)
{
  static const char *const theorem_names[THEOREM_DIAGNOSTICS] = {"c_time_average", "self_term_time_average", "stein_drift", "stein_drift_time_average", "identity_right", "identity_gap", "fisher", "fisher_se", "meanfield_velocity", "finite_particle_excess"};
  DSTheoremIntegrals     *run = &sim->integrals;
  const PetscReal         h = ds_bandwidth_at(&sim->bandwidth, t);
  PetscReal               sd = NAN, fisher = NAN, fisher_se = NAN, left, right, excess;

  PetscFunctionBeginUser;
  if (sim->stein) {
    PetscCall(ds_stein_drift(sim->stein, X, h, &sd));
    if (!(run->stein_count > 0 && t == run->stein_time)) ds_theorem_integrals_add_stein(run, t, sd);
    if (sim->opts.fisher_draws > 0) PetscCall(ds_stein_fisher(sim->stein, X, h, step, &fisher, &fisher_se));
  }
  ds_theorem_identity(run, sim->kl, &left, &right, &excess);
  const PetscReal row[THEOREM_DIAGNOSTICS] = {t > 0 ? run->centre_velocity_integral / t : NAN, t > 0 ? run->self_term_integral / t : NAN, sd, left, right, right - left, fisher, fisher_se, run->meanfield_velocity, excess};
  for (PetscInt k = 0; k < THEOREM_DIAGNOSTICS; k++) {
    names[k]  = theorem_names[k];
    values[k] = row[k];
  }
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
  const PetscBool  diagnostics = step != sim->last_diagnostics_step && (force || step % o->diagnostics_every == 0);
  const char      *names[3 + DS_FIELD_MAX_OWN_DIAGNOSTICS + DS_MAX_STATE_DIAGNOSTICS + THEOREM_DIAGNOSTICS];
  PetscReal        values[3 + DS_FIELD_MAX_OWN_DIAGNOSTICS + DS_MAX_STATE_DIAGNOSTICS + THEOREM_DIAGNOSTICS];
  PetscInt         count = 0, field_count, state_count;
  PetscReal        rms_velocity, center_velocity_sq;
  const char *const *field_names, *const *state_names;
  const PetscReal   *field_values;

  PetscFunctionBeginUser;
  if (!print && !snapshot && !diagnostics && !sim->theorem) PetscFunctionReturn(0);
  PetscCall(update_velocity(sim, step, t, X, print || snapshot || diagnostics));
  PetscCall(ds_diagnostics_velocity(sim->velocity, &rms_velocity, &center_velocity_sq));
  if (sim->theorem) PetscCall(integrate_state(sim, t, rms_velocity));
  if (!print && !snapshot && !diagnostics) PetscFunctionReturn(0);
  const DSFieldTypeInfo *field_type;
  PetscCall(ds_field_get_type(sim->field, &field_type));
  if (field_type->uses_bandwidth) {
    names[count]    = "bandwidth";
    values[count++] = ds_bandwidth_at(&sim->bandwidth, t);
  }
  names[count]    = "rms_velocity";
  values[count++] = rms_velocity;
  names[count]    = "center_velocity_sq";
  values[count++] = center_velocity_sq;
  PetscCall(ds_field_get_diagnostics(sim->field, &field_count, &field_names, &field_values));
  for (PetscInt k = 0; k < field_count; k++) {
    names[count]    = field_names[k];
    values[count++] = field_values[k];
  }
  /* The distance and KDE diagnostics cost about two field evaluations and go only to the file. */
  if (diagnostics && sim->output) {
    PetscCall(ds_diagnostics_get_names(sim->diagnostics, &state_count, &state_names));
    PetscCall(ds_diagnostics_compute(sim->diagnostics, X, ds_bandwidth_at(&sim->bandwidth, t), values + count));
    for (PetscInt k = 0; k < state_count; k++) names[count++] = state_names[k];
    if (sim->theorem) {
      PetscCall(theorem_row(sim, step, t, X, names + count, values + count));
      count += THEOREM_DIAGNOSTICS;
    }
    PetscCall(ds_output_write_diagnostics(sim->output, step, t, count, names, values));
    sim->last_diagnostics_step = step;
  }
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

/* The checkpoint of the state TS holds now. */
static PetscErrorCode checkpoint_now(Simulation *sim, TS ts)
{
  DSCheckpointState state = sim->pending_state;
  Vec               X;

  PetscFunctionBeginUser;
  PetscCall(TSGetSolution(ts, &X));
  PetscCall(TSGetStepNumber(ts, &state.step));
  PetscCall(TSGetTime(ts, &state.time));
  PetscCall(TSGetTimeStep(ts, &state.dt));
  PetscCall(ds_checkpoint_write(sim->comm, sim->checkpoint, X, &state));
  PetscCall(PetscTime(&sim->last_checkpoint_wall));
  PetscFunctionReturn(0);
}

/* Ends the run with a checkpoint of the state TS holds when SIGTERM, SIGUSR1 or SIGINT
   reached any rank (ds_signals.h): before the first step (the initial state) or after any. */
static PetscErrorCode stop_on_signal(TS ts, Simulation *sim)
{
  int sig = ds_signals_received(), any_sig;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(&sig, &any_sig, 1, MPI_INT, MPI_MAX, sim->comm));
  if (!any_sig) PetscFunctionReturn(0);
  PetscCall(checkpoint_now(sim, ts));
  sim->stopped_by = any_sig;
  PetscCall(TSSetConvergedReason(ts, TS_CONVERGED_USER));
  PetscFunctionReturn(0);
}

/* After every step: the state the step started from becomes the last good one; stop when
   the guard finds a particle outside its ball (saving it); keep this state as pending;
   write a checkpoint when one is due; stop on a signal. */
static PetscErrorCode post_step(TS ts)
{
  Simulation     *sim;
  Vec             X;
  PetscInt        step;
  PetscReal       t;
  int             due = 0;
  char            problem[1024];
  const DSOptions *o;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &sim));
  o = &sim->opts;
  PetscCall(TSGetSolution(ts, &X));
  PetscCall(TSGetStepNumber(ts, &step));
  PetscCall(TSGetTime(ts, &t));
  PetscCall(VecCopy(sim->pending, sim->last_good));
  sim->last_good_state = sim->pending_state;
  PetscCall(ds_guard_check(&sim->guard, X, sim->last_good, step, t, t - sim->last_good_state.time, ds_bandwidth_at(&sim->bandwidth, t), problem, sizeof(problem)));
  if (problem[0]) PetscCall(stop_at_last_good(sim, PETSC_ERR_FP, problem, smaller_step));
  PetscCall(VecCopy(X, sim->pending));
  sim->pending_state.step      = step;
  sim->pending_state.time      = t;
  sim->pending_state.integrals = sim->integrals; /* the states before this one */
  PetscCall(TSGetTimeStep(ts, &sim->pending_state.dt));
  PetscCall(stop_on_signal(ts, sim));
  if (sim->stopped_by) PetscFunctionReturn(0);
  if (!o->checkpoint[0]) PetscFunctionReturn(0);
  if (o->checkpoint_every && step % o->checkpoint_every == 0) due = 1;
  if (o->checkpoint_seconds > 0) {
    PetscLogDouble now;
    PetscCall(PetscTime(&now));
    if (now - sim->last_checkpoint_wall >= o->checkpoint_seconds) due = 1;
    PetscCallMPI(MPI_Bcast(&due, 1, MPI_INT, 0, sim->comm)); /* rank 0's clock decides */
  }
  if (due) PetscCall(checkpoint_now(sim, ts));
  PetscFunctionReturn(0);
}

/* Continues from -drift_restart: its positions, time, step, step size (unless -ts_dt is
   given) and bandwidth schedule, once the checkpoint agrees with the options. */
static PetscErrorCode restart_from_checkpoint(Simulation *sim, TS ts, Vec X)
{
  const DSOptions  *o = &sim->opts;
  DSCheckpointState cp;
  PetscBool         dt_given;

  PetscFunctionBeginUser;
  PetscCall(ds_checkpoint_read_state(sim->comm, "-drift_restart", o->restart, &cp));
  PetscCall(ds_preflight_restart(sim->comm, o, &cp));
  PetscCall(ds_checkpoint_read_positions(sim->comm, o->restart, X));
  PetscCall(TSSetTime(ts, cp.time));
  PetscCall(TSSetStepNumber(ts, cp.step));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-ts_dt", &dt_given));
  if (!dt_given) PetscCall(TSSetTimeStep(ts, cp.dt));
  sim->bandwidth       = cp.bandwidth;
  sim->integrals       = cp.integrals;
  sim->last_good_state = cp;
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

/* The theorem's numbers over the whole run [0, T] as root attributes of the output: the
   horizon, the initial KL and its standard error, and the time averages and identity of
   theorem_row at T. */
static PetscErrorCode write_theorem_summary(Simulation *sim)
{
  const DSTheoremIntegrals *run = &sim->integrals;
  const PetscReal           T = run->time;
  PetscReal                 left, right, excess;

  PetscFunctionBeginUser;
  ds_theorem_identity(run, sim->kl, &left, &right, &excess);
  const char *const names[]  = {"theorem_horizon", "kl_initial", "kl_initial_se", "c_time_average", "self_term_time_average", "stein_drift_time_average", "identity_right", "identity_gap", "finite_particle_excess"};
  const PetscReal   values[] = {T, sim->kl, sim->kl_standard_error, T > 0 ? run->centre_velocity_integral / T : NAN, T > 0 ? run->self_term_integral / T : NAN, left, right, right - left, excess};
  PetscCall(ds_output_write_summary(sim->output, sizeof(values) / sizeof(values[0]), names, values));
  PetscFunctionReturn(0);
}

/* Body of ds_simulation_run: everything it creates is in *sim, *ts_out and *X_out, also
   when it stops with an error, for ds_simulation_run to free. */
static PetscErrorCode simulate(MPI_Comm comm, Simulation *sim, TS *ts_out, Vec *X_out)
{
  TS             ts;
  Vec            X;
  PetscBool      help;
  PetscInt       steps;
  PetscReal      t;
  PetscLogDouble solve_end, pairs;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(sim, sizeof(*sim)));
  sim->comm                  = comm;
  sim->last_snapshot_step    = -1;
  sim->last_diagnostics_step = -1;
  sim->last_printed_step     = -1;
  PetscCall(ds_log_register());

  /* Everything the user gave is read and checked before anything is written. */
  PetscCall(ds_options_set_defaults(&sim->opts));
  PetscCall(ds_options_read(comm, &sim->opts));
  PetscCall(ds_options_validate(comm, &sim->opts));
  PetscCall(ds_isa_choose(comm, sim->opts.isa, "-drift_isa"));
  PetscCall(ds_options_say_notes(comm, &sim->opts));
  PetscCall(TSCreate(comm, &ts));
  *ts_out = ts;
  PetscCall(TSSetProblemType(ts, TS_NONLINEAR));
  PetscCall(TSSetType(ts, TSEULER));
  PetscCall(TSSetTimeStep(ts, 0.1));
  PetscCall(TSSetMaxSteps(ts, 100));
  PetscCall(TSSetMaxTime(ts, PETSC_MAX_REAL));
  PetscCall(TSSetExactFinalTime(ts, TS_EXACTFINALTIME_MATCHSTEP));
  PetscCall(ds_preflight_ts(comm, ts));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) PetscFunctionReturn(0);
  PetscCall(check_unknown_options(comm));
  if (sim->opts.output[0]) PetscCall(ds_output_check_path(comm, "-drift_output", sim->opts.output));
  PetscCall(ds_preflight_checkpoint_path(&sim->opts, sim->checkpoint, sizeof(sim->checkpoint)));
  PetscCall(ds_preflight_paths(comm, &sim->opts, sim->checkpoint));
  PetscCall(ds_init_resolve(comm, &sim->opts));
  PetscCall(ds_target_create(comm, &sim->opts, &sim->target));
  sim->opts.target_samples = sim->target->samples_global; /* a file target's M is its row count */

  PetscCall(ds_init_create_particles(comm, sim->opts.n, sim->opts.dim, &X));
  *X_out = X;
  PetscCall(VecDuplicate(X, &sim->last_good));
  PetscCall(VecDuplicate(X, &sim->pending));
  PetscCall(ds_init_cloud(&sim->opts, sim->last_good)); /* the initial cloud, also on a restart: the guard's ball */
  PetscCall(ds_guard_create(comm, &sim->opts, sim->target, sim->last_good, &sim->guard));
  if (sim->opts.restart[0]) PetscCall(restart_from_checkpoint(sim, ts, X));
  else {
    PetscCall(VecCopy(sim->last_good, X));
    PetscCall(ds_bandwidth_create(comm, &sim->opts, sim->target, X, &sim->bandwidth));
    sim->last_good_state.bandwidth = sim->bandwidth;
    PetscCall(TSGetTimeStep(ts, &sim->last_good_state.dt));
  }
  sim->last_good_state.n    = sim->opts.n;
  sim->last_good_state.dim  = sim->opts.dim;
  sim->last_good_state.seed = sim->opts.seed;
  PetscCall(ds_preflight_describe_run(&sim->opts, sim->last_good_state.run, sizeof(sim->last_good_state.run)));
  sim->pending_state        = sim->last_good_state;
  PetscCall(VecCopy(X, sim->last_good));
  PetscCall(VecCopy(X, sim->pending));
  PetscCall(VecDuplicate(X, &sim->velocity));
  PetscCall(VecDuplicate(X, &sim->velocity_points));
  {
    PetscInt local;
    PetscCall(VecGetLocalSize(X, &local));
    PetscCall(ds_field_create(comm, &sim->opts, sim->target, local / sim->opts.dim, &sim->field));
    PetscCall(ds_diagnostics_create(comm, &sim->opts, sim->target, local / sim->opts.dim, &sim->diagnostics));
    sim->theorem = (sim->opts.diagnostics & DS_DIAGNOSTIC_THEOREM) && sim->opts.output[0] ? PETSC_TRUE : PETSC_FALSE;
    if (sim->theorem && ds_stein_applies(&sim->opts)) PetscCall(ds_stein_create(comm, &sim->opts, sim->target, sim->field, local / sim->opts.dim, &sim->stein));
  }
  if (sim->theorem) PetscCall(ds_theorem_initial_kl(comm, &sim->opts, sim->target, sim->bandwidth.h0, sim->opts.kl_draws, &sim->kl, &sim->kl_standard_error));
  if (!sim->opts.restart[0] && ds_meanfield_applies(&sim->opts)) ds_meanfield_start(&sim->opts, &sim->integrals.meanfield);
  PetscCall(TSSetRHSFunction(ts, NULL, rhs_function, sim));
  PetscCall(TSSetApplicationContext(ts, sim));
  PetscCall(TSSetPostStep(ts, post_step));
  PetscCall(TSMonitorSet(ts, monitor, sim, NULL));
  PetscCall(TSGetTime(ts, &t));
  /* The clock starts before the initial field, which PERF_SUMMARY's pairs and evaluations count. */
  PetscCall(PetscTime(&sim->wall_start));
  PetscCall(update_velocity(sim, sim->last_good_state.step, t, X, PETSC_TRUE)); /* refused in evaluate_field if not finite */
  sim->started = PETSC_TRUE;
  if (sim->opts.output[0] && sim->opts.restart[0]) PetscCall(ds_output_reopen(comm, &sim->opts, sim->target, &sim->bandwidth, sim->last_good_state.step, &sim->output));
  else if (sim->opts.output[0]) PetscCall(ds_output_open(comm, &sim->opts, sim->target, &sim->bandwidth, &sim->output));

  sim->last_checkpoint_wall = sim->wall_start;
  PetscCall(TSSetSolution(ts, X));
  PetscCall(stop_on_signal(ts, sim)); /* one during start-up: no step is taken */
  if (sim->stopped_by) PetscCall(TSSetMaxSteps(ts, sim->last_good_state.step));
  PetscCall(TSSolve(ts, X));
  PetscCall(TSGetStepNumber(ts, &steps));
  PetscCall(TSGetSolveTime(ts, &t));
  PetscCall(record_state(ts, sim, steps, t, X, PETSC_TRUE));
  if (sim->theorem) PetscCall(write_theorem_summary(sim));
  PetscCall(PetscTime(&solve_end));
  PetscCall(ds_field_get_pair_count(sim->field, &pairs));
  PetscCall(ds_log_perf_summary(comm, sim->opts.n, sim->opts.dim, sim->rhs_evaluations, pairs, solve_end - sim->wall_start));
  if (sim->output) {
    PetscCall(ds_output_close(&sim->output));
    PetscCall(PetscPrintf(comm, "output written to %s\n", sim->opts.output));
  }
  if (sim->stopped_by)
    PetscCall(PetscPrintf(comm, "driftsim: stopped by signal %d after step %" PetscInt_FMT " (t = %g); checkpoint written to %s; continue with: -drift_restart %s\n", sim->stopped_by, steps, (double)t, sim->checkpoint, sim->checkpoint));
  PetscFunctionReturn(0);
}

/* A user error (bad input, a non-finite state, unconverged iterations) is raised on every
   rank at the same point, so the run is taken down collectively (ds_output_close is
   collective) before it is passed on: LeakSanitizer found a refused run's objects left behind. Other errors abort in main. */
PetscErrorCode ds_simulation_run(MPI_Comm comm)
{
  Simulation     sim;
  TS             ts = NULL;
  Vec            X  = NULL;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  ierr = simulate(comm, &sim, &ts, &X);
  if (ierr && ierr != PETSC_ERR_USER_INPUT && ierr != PETSC_ERR_FP && ierr != PETSC_ERR_NOT_CONVERGED) PetscFunctionReturn(ierr);
  PetscCall(ds_output_close(&sim.output));
  PetscCall(ds_field_destroy(&sim.field));
  PetscCall(ds_diagnostics_destroy(&sim.diagnostics));
  PetscCall(ds_stein_destroy(&sim.stein));
  PetscCall(VecDestroy(&sim.velocity));
  PetscCall(VecDestroy(&sim.velocity_points));
  PetscCall(VecDestroy(&sim.last_good));
  PetscCall(VecDestroy(&sim.pending));
  PetscCall(VecDestroy(&X));
  PetscCall(TSDestroy(&ts));
  PetscCall(ds_target_destroy(&sim.target));
  PetscCall(ds_guard_destroy(&sim.guard));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static const char help[] = "driftsim: simulates the finite-particle ODE of drifting models.\n"
                           "Usage: mpiexec -n P driftsim [-options_file runs/x.opts] [-drift_* ...] [-ts_* ...]\n\n";

#include <stdio.h>
#include "ds_h5util.h"
#include "ds_optfiles.h"
#include "ds_signals.h"
#include "ds_simulation.h"

/* Errors a user acts on: bad input, a state that went non-finite (reported after the last
   good state was checkpointed), iterations that did not converge (the Sinkhorn solves: the
   message names the options to change), and a write that failed on any rank (agreed by
   all, ds_h5_agree). All are raised collectively. */
static PetscBool user_error(PetscErrorCode n) { return (n == PETSC_ERR_USER_INPUT || n == PETSC_ERR_FP || n == PETSC_ERR_NOT_CONVERGED || (n == PETSC_ERR_FILE_WRITE && ds_h5_failure_agreed())) ? PETSC_TRUE : PETSC_FALSE; }

/* A user error is reported once, cleanly, by main; every other error gets PETSc's usual
   traceback. */
static PetscErrorCode error_handler(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  if (user_error(n)) return n;
  return PetscTraceBackErrorHandler(comm, line, fun, file, n, p, mess, ctx);
}

/* PetscInitialize cannot report a bad -options_file cleanly (a file that includes itself
   crashes it), so rank 0 checks every one first (ds_options_files_check) and all ranks learn
   the verdict; returns 0 when all can be read. */
static int check_options_files(int argc, char **argv)
{
  char message[1024] = "";
  int  rank;

  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (!rank) (void)ds_options_files_check(argc, argv, message, sizeof(message));
  (void)MPI_Bcast(message, sizeof(message), MPI_CHAR, 0, MPI_COMM_WORLD);
  if (message[0] && !rank) fprintf(stderr, "driftsim: error: %s\n", message);
  return message[0] ? 1 : 0;
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;

  ds_signals_install(); /* a signal during start-up is kept for the first step boundary */
  MPI_Init(&argc, &argv);
  if (check_options_files(argc, argv)) {
    MPI_Finalize();
    return 1;
  }
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  ds_signals_install(); /* again: PetscInitialize installed its own */
  PetscCall(PetscPushErrorHandler(error_handler, NULL));
  ierr = ds_simulation_run(PETSC_COMM_WORLD);
  if (user_error(ierr)) {
    /* User errors are collective: every rank raised the same one; rank 0 reports it. */
    char *message = NULL;
    PetscErrorMessage(ierr, NULL, &message);
    PetscFPrintf(PETSC_COMM_WORLD, stderr, "driftsim: error: %s\n", message ? message : "bad input or a non-finite state");
    PetscFinalize();
    MPI_Finalize();
    return 1;
  }
  if (ierr) MPI_Abort(PETSC_COMM_WORLD, (int)ierr);
  PetscCall(PetscFinalize());
  MPI_Finalize();
  return 0;
}

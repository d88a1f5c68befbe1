/* The agreement on a collective call's outcome (ds_h5_agree in ds_h5util.h) and the
   watchdog of the HDF5 calls (ds_h5_watch_begin). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ds_h5util.h"

#define WATCH_SECONDS 300 /* DRIFTSIM_IO_TIMEOUT overrides it */

static PetscBool failure_agreed = PETSC_FALSE; /* see ds_h5_failure_agreed */

PetscErrorCode ds_h5_agree(MPI_Comm comm, PetscBool ok, PetscBool *failed, int *err)
{
  const int   mine = errno;
  PetscMPIInt rank, first;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Allreduce(ok ? &(PetscMPIInt){PETSC_MPI_INT_MAX} : &rank, &first, 1, MPI_INT, MPI_MIN, comm));
  *failed = first != PETSC_MPI_INT_MAX ? PETSC_TRUE : PETSC_FALSE;
  *err    = 0;
  if (!*failed) PetscFunctionReturn(0);
  if (rank == first && (mine == ENOSPC || mine == EFBIG || mine == EDQUOT || mine == EIO || mine == EROFS)) *err = mine;
  PetscCallMPI(MPI_Bcast(err, 1, MPI_INT, first, comm));
  failure_agreed = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscBool ds_h5_failure_agreed(void) { return failure_agreed; }

static int    watch_depth;        /* nesting of ds_h5_watch_begin */
static char   watch_message[512]; /* what the watchdog prints */
static size_t watch_length;

/* SIGALRM: HDF5 has not returned in time. Async-signal-safe: write and _exit only. */
static void watchdog_fires(int sig)
{
  (void)sig;
  (void)!write(STDERR_FILENO, watch_message, watch_length);
  _exit(1);
}

/* Arms the watchdog: it fires DRIFTSIM_IO_TIMEOUT seconds from now. */
static PetscErrorCode watch_arm(void)
{
  const char *text    = getenv("DRIFTSIM_IO_TIMEOUT");
  const int   seconds = text && atoi(text) > 0 ? atoi(text) : WATCH_SECONDS;
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  PetscCall(PetscSNPrintf(watch_message, sizeof(watch_message), "driftsim: error: HDF5 has not come back from writing the output or a checkpoint within %d s on rank %d: a write that failed on one rank inside a collective HDF5 call leaves the others waiting (HDF5 1.10 does not agree on failures inside its calls); aborting the run. The output keeps the rows its complete_rows attributes count, the checkpoint its last complete state\n", seconds, (int)rank));
  PetscCall(PetscStrlen(watch_message, &watch_length));
  PetscCheck(signal(SIGALRM, watchdog_fires) != SIG_ERR, PETSC_COMM_SELF, PETSC_ERR_SYS, "the HDF5 watchdog cannot be installed");
  (void)alarm((unsigned)(seconds + 5 * rank)); /* rank 0 first: one message, mpiexec ends the others */
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_watch_begin(void)
{
  PetscFunctionBeginUser;
  if (!watch_depth++) PetscCall(watch_arm());
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_watch_rest(void)
{
  PetscFunctionBeginUser;
  PetscCall(watch_arm()); /* also inside a watched stretch, whose end must not stop it */
  watch_depth++;          /* never ended */
  watch_length = 0;       /* the failure was reported */
  PetscFunctionReturn(0);
}

PetscErrorCode ds_h5_watch_end(void)
{
  PetscFunctionBeginUser;
  if (--watch_depth == 0) (void)alarm(0);
  PetscFunctionReturn(0);
}

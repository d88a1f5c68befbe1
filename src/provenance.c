/* Provenance of a run (ds_provenance.h). The values that could differ between ranks (host,
   time, options text) are rank 0's, broadcast, so that every rank writes the same
   attributes collectively. */
#include <time.h>
#include <unistd.h>
#include <hdf5.h>
#include "ds_isa.h"
#include "ds_provenance.h"
#include "ds_version.h"

#ifndef DS_GIT_REVISION
  #define DS_GIT_REVISION "unknown"
#endif
#ifndef DS_BUILD_FLAGS
  #define DS_BUILD_FLAGS "unknown"
#endif
/* gcc's __VERSION__ is a bare number; other compilers put their name in it. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__INTEL_COMPILER)
  #define DS_COMPILER "gcc " __VERSION__
#elif defined(__VERSION__)
  #define DS_COMPILER __VERSION__
#else
  #define DS_COMPILER "unknown"
#endif

/* Gives every rank an allocated copy of rank 0's `text` (ignored on other ranks). */
static PetscErrorCode broadcast_text(MPI_Comm comm, const char *text, char **copy)
{
  PetscMPIInt rank, count;
  size_t      len = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) PetscCall(PetscStrlen(text, &len));
  PetscCallMPI(MPI_Bcast(&len, sizeof(len), MPI_BYTE, 0, comm));
  PetscCall(PetscMalloc1(len + 1, copy));
  if (rank == 0) PetscCall(PetscArraycpy(*copy, text, len + 1));
  PetscCall(PetscMPIIntCast((PetscInt)(len + 1), &count));
  PetscCallMPI(MPI_Bcast(*copy, count, MPI_CHAR, 0, comm));
  PetscFunctionReturn(0);
}

/* The current UTC time in ISO 8601 (YYYY-MM-DDTHH:MM:SSZ), or "unknown". Local. */
static PetscErrorCode utc_now(char text[], size_t len)
{
  time_t    now = time(NULL);
  struct tm utc;

  PetscFunctionBeginUser;
  if (!gmtime_r(&now, &utc) || !strftime(text, len, "%Y-%m-%dT%H:%M:%SZ", &utc)) PetscCall(PetscStrncpy(text, "unknown", len));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_provenance_now(MPI_Comm comm, char **when)
{
  char        now[32] = "";
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) PetscCall(utc_now(now, sizeof(now)));
  PetscCall(broadcast_text(comm, now, when));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_provenance_get(MPI_Comm comm, DSProvenance *p)
{
  char        host[256] = "unknown", *options = NULL;
  unsigned    major, minor, release;
  PetscInt    pmajor, pminor, psubminor, prelease;
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(p, sizeof(*p)));
  p->version      = DS_VERSION;
  p->git_revision = DS_GIT_REVISION;
  p->compiler     = DS_COMPILER;
  p->build_flags  = DS_BUILD_FLAGS;
  p->vector_isa   = DSIsaNames[ds_isa_current()];
  PetscCallMPI(MPI_Comm_size(comm, &p->ranks));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    if (gethostname(host, sizeof(host))) PetscCall(PetscStrncpy(host, "unknown", sizeof(host)));
    host[sizeof(host) - 1] = 0;
    PetscCall(PetscOptionsGetAll(NULL, &options));
  }
  PetscCall(broadcast_text(comm, host, &p->host));
  PetscCall(ds_provenance_now(comm, &p->created));
  PetscCall(broadcast_text(comm, options, &p->options));
  PetscCall(PetscFree(options));
  PetscCall(PetscGetVersionNumber(&pmajor, &pminor, &psubminor, &prelease));
  PetscCall(PetscSNPrintf(p->petsc_version, sizeof(p->petsc_version), "%" PetscInt_FMT ".%" PetscInt_FMT ".%" PetscInt_FMT "%s", pmajor, pminor, psubminor, prelease ? "" : "-dev"));
  PetscCheck(H5get_libversion(&major, &minor, &release) >= 0, comm, PETSC_ERR_LIB, "HDF5 could not report its version");
  PetscCall(PetscSNPrintf(p->hdf5_version, sizeof(p->hdf5_version), "%u.%u.%u", major, minor, release));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_provenance_free(DSProvenance *p)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(p->host));
  PetscCall(PetscFree(p->created));
  PetscCall(PetscFree(p->options));
  PetscFunctionReturn(0);
}

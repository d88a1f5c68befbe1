/* Registration of driftsim's PETSc log events, and the run's PERF_SUMMARY line. */
#include "ds_log.h"
#include "ds_isa.h"

DSLogEvents ds_events;

PetscErrorCode ds_log_register(void)
{
  static PetscBool registered = PETSC_FALSE;

  PetscFunctionBeginUser;
  if (registered) PetscFunctionReturn(0);
  PetscCall(PetscClassIdRegister("driftsim", &ds_events.classid));
  PetscCall(PetscLogEventRegister("DSRingCompute", ds_events.classid, &ds_events.ring_compute));
  PetscCall(PetscLogEventRegister("DSRingWait", ds_events.classid, &ds_events.ring_wait));
  PetscCall(PetscLogEventRegister("DSField", ds_events.classid, &ds_events.field));
  PetscCall(PetscLogEventRegister("DSDiagnostics", ds_events.classid, &ds_events.diagnostics));
  PetscCall(PetscLogEventRegister("DSOutput", ds_events.classid, &ds_events.output));
  registered = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_log_perf_summary(MPI_Comm comm, PetscInt n, PetscInt dim, PetscInt rhs_evaluations, PetscLogDouble local_pairs, PetscLogDouble wall)
{
  PetscLogDouble pairs;
  PetscMPIInt    size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Allreduce(&local_pairs, &pairs, 1, MPI_DOUBLE, MPI_SUM, comm));
  PetscCall(PetscPrintf(comm, "PERF_SUMMARY ranks=%d n=%" PetscInt_FMT " dim=%" PetscInt_FMT " rhs_evals=%" PetscInt_FMT " pairs=%.0f wall_s=%.6f pairs_per_s=%.6e pairs_per_s_per_rank=%.6e vector_isa=%s\n", size, n, dim, rhs_evaluations, pairs,
                        wall, wall > 0 ? pairs / wall : 0.0, wall > 0 ? pairs / wall / size : 0.0, DSIsaNames[ds_isa_current()]));
  PetscFunctionReturn(0);
}

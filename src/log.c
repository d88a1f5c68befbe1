/* Registration of driftsim's PETSc log events. */
#include "ds_log.h"

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

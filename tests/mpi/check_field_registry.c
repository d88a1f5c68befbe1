/* Tests of the field registry: a new field type is one definition plus one registration
   line (here the zero field, defined in this file as a field type's file would be), after
   which the options accept its name and ds_field_create builds it; unknown names are refused
   with the registered ones listed; own diagnostics are found by name. */
#include <string.h>
#include <petscvec.h>
#include "ds_test.h"
#include "ds_field.h"
#include "ds_options.h"
#include "../../src/fields/field_impl.h"

/* ---------------------------------------------------------------- the zero field type */

static PetscErrorCode zero_evaluate(DSField f, PetscReal h, const PetscReal *x, PetscReal *v)
{
  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(v, f->local_count * f->dim));
  f->diagnostic_values[*(PetscInt *)f->data] = h;
  PetscFunctionReturn(0);
}

static PetscErrorCode zero_evaluate_at(DSField f, PetscReal h, const PetscReal *x, PetscInt nz, const PetscReal *z, PetscReal *v)
{
  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(v, nz * f->dim));
  PetscFunctionReturn(0);
}

static PetscErrorCode zero_destroy(DSField f)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(f->data));
  PetscFunctionReturn(0);
}

/* Its one diagnostic, "last_bandwidth", is the h of the last evaluation. */
static PetscErrorCode zero_create(DSField f)
{
  PetscInt *slot;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&slot));
  f->data = slot;
  PetscCall(ds_field_declare_diagnostic(f, "last_bandwidth", slot));
  f->ops.evaluate    = zero_evaluate;
  f->ops.evaluate_at = zero_evaluate_at;
  f->ops.destroy     = zero_destroy;
  PetscFunctionReturn(0);
}

static const DSFieldTypeInfo zero_field = {
  .name           = "zero",
  .create         = zero_create,
  .default_kernel = DS_KERNEL_GAUSSIAN,
  .uses_bandwidth = PETSC_TRUE,
};

/* ---------------------------------------------------------------- tests */

START_TEST(registered_zero_field_runs)
{
  DSOptions  o;
  DSTestRun  run;
  PetscReal  h = NAN, max = -1;
  PetscInt   n;
  const PetscScalar *v;

  DS_ASSERT_PETSC(ds_field_register(&zero_field)); /* the one registration line */
  o = ds_test_read_options("-drift_field zero -drift_n 37");
  DS_ASSERT_ALL(!strcmp(o.field, "zero"), "the options read -drift_field zero as %s", o.field);
  ds_test_run_setup(&run, o);
  VecSet(run.V, 1.0);
  DS_ASSERT_PETSC(ds_field_evaluate(run.field, 0.25, run.X, run.V));
  VecGetLocalSize(run.V, &n);
  VecGetArrayRead(run.V, &v);
  for (PetscInt i = 0; i < n; i++) max = PetscMax(max, PetscAbsScalar(v[i]));
  VecRestoreArrayRead(run.V, &v);
  DS_ASSERT_ALL(max == 0 || n == 0, "the zero field gave |v| = %g", (double)max);
  DS_ASSERT_PETSC(ds_field_get_diagnostic(run.field, "last_bandwidth", &h));
  DS_ASSERT_ALL(h == 0.25, "diagnostic last_bandwidth is %g, want 0.25", (double)h);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  const PetscErrorCode missing = ds_field_get_diagnostic(run.field, "no_such_name", &h);
  PetscPopErrorHandler();
  DS_ASSERT_ALL(missing == PETSC_ERR_ARG_OUTOFRANGE, "an unknown diagnostic name gave error %d", (int)missing);
  ds_test_run_teardown(&run);
}
END_TEST

START_TEST(unknown_field_refused_with_the_registered_names)
{
  DSOptions      o;
  char          *message = NULL;
  PetscErrorCode ierr;

  ierr = ds_test_read_options_error("-drift_field curl", &o);
  DS_ASSERT_ALL(ierr == PETSC_ERR_USER_INPUT, "-drift_field curl gave error %d, want PETSC_ERR_USER_INPUT", (int)ierr);
  PetscErrorMessage(ierr, NULL, &message);
  DS_ASSERT_ALL(message && strstr(message, "-drift_field curl") && strstr(message, "allowed: conservative, displacement, joint, multitemperature"), "message: %s", message ? message : "(none)");
}
END_TEST

Suite *ds_suite_field_registry(void)
{
  Suite *s  = suite_create("field_registry");
  TCase *tc = tcase_create("field_registry");
  tcase_add_test(tc, registered_zero_field_runs);
  tcase_add_test(tc, unknown_field_refused_with_the_registered_names);
  suite_add_tcase(s, tc);
  return s;
}

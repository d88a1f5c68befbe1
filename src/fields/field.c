/* The field interface: the registry of field types, the options each type accepts, and
   the dispatch through a field's ops table (PETSc's TSRegister / TSSetType pattern). The
   types live one per file in this folder; what they share is in sources.h (ring sums),
   row_normalised.h (conservative, displacement) and joint.h (joint, multitemperature). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "field_impl.h"

/* The built-in field types, one line each: type `name` is the DSFieldTypeInfo
   ds_field_<name> defined in src/fields/<name>.c. */
#define DS_BUILTIN_FIELDS(X) \
  X(conservative) \
  X(displacement) \
  X(joint) \
  X(multitemperature) \
  X(sinkhorn)
#define DECLARE(name) PETSC_INTERN const DSFieldTypeInfo ds_field_##name;
DS_BUILTIN_FIELDS(DECLARE)
#undef DECLARE

#define DS_FIELD_MAX_TYPES 32
static const DSFieldTypeInfo *registry[DS_FIELD_MAX_TYPES];
static PetscInt               registered;

PetscErrorCode ds_field_register(const DSFieldTypeInfo *type)
{
  PetscInt k = 0;

  PetscFunctionBeginUser;
  PetscCheck(type && type->name && type->create, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "a field type needs a name and a create function");
  PetscCall(ds_field_register_all()); /* the built-in types come first */
  while (k < registered && strcmp(registry[k]->name, type->name)) k++;
  PetscCheck(k < DS_FIELD_MAX_TYPES, PETSC_COMM_SELF, PETSC_ERR_MEM, "at most %d field types can be registered", DS_FIELD_MAX_TYPES);
  registry[k] = type;
  if (k == registered) registered++;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_register_all(void)
{
  static PetscBool done = PETSC_FALSE;

  PetscFunctionBeginUser;
  if (done) PetscFunctionReturn(0);
  done = PETSC_TRUE;
#define REGISTER(name) PetscCall(ds_field_register(&ds_field_##name));
  DS_BUILTIN_FIELDS(REGISTER)
#undef REGISTER
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_type_find(const char name[], const DSFieldTypeInfo **type)
{
  PetscFunctionBeginUser;
  PetscCall(ds_field_register_all());
  *type = NULL;
  for (PetscInt k = 0; k < registered; k++) {
    PetscBool match;
    PetscCall(PetscStrcasecmp(registry[k]->name, name, &match));
    if (match) *type = registry[k];
  }
  PetscFunctionReturn(0);
}

/* The names of the registered types with `flag` set (every type for flag_offset < 0),
   joined by `separator` and, before the last, by `last`. */
static PetscErrorCode type_names(ptrdiff_t flag_offset, const char *separator, const char *last, char list[], size_t len)
{
  PetscInt count = 0, written = 0;

  PetscFunctionBeginUser;
  PetscCall(ds_field_register_all());
  for (PetscInt k = 0; k < registered; k++) count += flag_offset < 0 || *(const PetscBool *)((const char *)registry[k] + flag_offset);
  list[0] = '\0';
  for (PetscInt k = 0; k < registered; k++) {
    if (flag_offset >= 0 && !*(const PetscBool *)((const char *)registry[k] + flag_offset)) continue;
    if (written) PetscCall(PetscStrlcat(list, written == count - 1 ? last : separator, len));
    PetscCall(PetscStrlcat(list, registry[k]->name, len));
    written++;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_type_list(char list[], size_t len)
{
  PetscFunctionBeginUser;
  PetscCall(type_names(-1, ", ", ", ", list, len));
  PetscFunctionReturn(0);
}

/* The first joint-column option given (-drift_joint_floor, the negatives' or a weights
   option), or NULL; its name in `name`. */
static const char *joint_column_option(const DSOptions *o, char name[], size_t len)
{
  if (o->joint_floor_given) return "-drift_joint_floor";
  if (o->negatives_file[0] || o->negatives_dataset[0]) return "-drift_negatives_file";
  for (int set = 0; set < DS_COLUMN_SETS; set++)
    if (o->weights_file[set][0] || o->weights_dataset[set][0]) {
      snprintf(name, len, "-drift_%s_weights_file", DSColumnSets[set]);
      return name;
    }
  return NULL;
}

PetscErrorCode ds_field_type_check(MPI_Comm comm, const DSOptions *o)
{
  const DSFieldTypeInfo *type;
  char                   names[256];

  PetscFunctionBeginUser;
  PetscCall(ds_field_type_find(o->field, &type));
  if (!type) {
    PetscCall(ds_field_type_list(names, sizeof(names)));
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "-drift_field %s is not known; allowed: %s", o->field, names);
  }
  PetscCheck(!(type->smooth_kernel && o->kernel == DS_KERNEL_LAPLACE), comm, PETSC_ERR_USER_INPUT,
             "-drift_kernel laplace cannot be used with -drift_field %s: the field needs a smooth kernel (a gradient at r = 0); allowed: gaussian, imq", type->name);
  if (o->sum != DS_SUM_EXACT && !type->takes_fast_sums) {
    PetscCall(type_names(offsetof(DSFieldTypeInfo, takes_fast_sums), ", ", " and ", names, sizeof(names)));
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "-drift_sum %s applies to -drift_field %s (-drift_field %s given)", DSSumMethods[o->sum], names, type->name);
  }
  PetscCheck(!(type->excludes_self && o->self == DS_SELF_INCLUDE), comm, PETSC_ERR_USER_INPUT, "-drift_self include does not apply to -drift_field %s, which excludes the self pair by definition (K_ii = 0)", type->name);
  PetscCheck(type->uses_bandwidth || (o->bandwidth_rule == DS_BANDWIDTH_FIXED && !o->bandwidth_anneal_given), comm, PETSC_ERR_USER_INPUT,
             "-drift_field %s %s; -drift_bandwidth_rule and -drift_bandwidth_anneal do not apply", type->name, type->scale);
  if (o->temperatures_given && !type->takes_temperatures) {
    PetscCall(type_names(offsetof(DSFieldTypeInfo, takes_temperatures), ", ", " and ", names, sizeof(names)));
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "-drift_temperatures applies to -drift_field %s (-drift_field %s given)", names, type->name);
  }
  char        option[64];
  const char *column_option = joint_column_option(o, option, sizeof(option));
  if (column_option && !type->joint_columns) {
    PetscCall(type_names(offsetof(DSFieldTypeInfo, joint_columns), ", ", " and ", names, sizeof(names)));
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s applies to -drift_field %s (-drift_field %s given)", column_option, names, type->name);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_declare_diagnostic(DSField f, const char name[], PetscInt *slot)
{
  PetscFunctionBeginUser;
  PetscCheck(f->ndiagnostics < DS_FIELD_MAX_OWN_DIAGNOSTICS, f->comm, PETSC_ERR_PLIB, "field %s declares more than %d diagnostics", f->type->name, DS_FIELD_MAX_OWN_DIAGNOSTICS);
  PetscCall(PetscStrallocpy(name, &f->diagnostic_names[f->ndiagnostics]));
  f->diagnostic_values[f->ndiagnostics] = NAN;
  *slot                                 = f->ndiagnostics++;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_create(MPI_Comm comm, const DSOptions *opts, DSTarget *target, PetscInt local_count, DSField *field)
{
  DSField                f;
  const DSFieldTypeInfo *type;
  PetscErrorCode         ierr;

  PetscFunctionBeginUser;
  PetscCall(ds_log_register());
  PetscCall(ds_field_type_find(opts->field, &type));
  PetscCheck(type, comm, PETSC_ERR_USER_INPUT, "-drift_field %s is not known", opts->field);
  PetscCall(PetscNew(&f));
  f->type         = type;
  f->comm         = comm;
  f->opts         = opts;
  f->target       = target;
  f->dim          = opts->dim;
  f->local_count  = local_count;
  f->exclude_self = (opts->self == DS_SELF_EXCLUDE || type->excludes_self) ? PETSC_TRUE : PETSC_FALSE;
  PetscCallMPI(MPI_Allreduce(&local_count, &f->global_count, 1, MPIU_INT, MPI_SUM, comm));
  PetscCallMPI(MPI_Scan(&local_count, &f->particle_start, 1, MPIU_INT, MPI_SUM, comm));
  f->particle_start -= local_count;
  ds_kernel_setup(opts->kernel, opts->bandwidth, opts->imq_beta, &f->kernel);
  ierr = type->create(f);
  if (ierr) PetscCall(ds_field_destroy(&f)); /* the type's ops.destroy, once set, frees what it made */
  PetscCall(ierr);
  f->opts = NULL;
  *field  = f;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_get_type(DSField f, const DSFieldTypeInfo **type)
{
  PetscFunctionBeginUser;
  *type = f->type;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_evaluate(DSField f, PetscReal h, Vec X, Vec V)
{
  const PetscReal *x;
  PetscReal       *v;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(ds_events.field, 0, 0, 0, 0));
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArray(V, &v));
  PetscCall(f->ops.evaluate(f, h, x, v));
  PetscCall(VecRestoreArray(V, &v));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(PetscLogEventEnd(ds_events.field, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_evaluate_at(DSField f, PetscReal h, Vec X, Vec Z, Vec V)
{
  const PetscReal *x, *z;
  PetscReal       *v;
  PetscInt         nz;

  PetscFunctionBeginUser;
  PetscCheck(f->ops.evaluate_at, f->comm, PETSC_ERR_SUP, "-drift_field %s is defined at the particles only (its columns are normalised over all particles)", f->type->name);
  PetscCall(PetscLogEventBegin(ds_events.field, 0, 0, 0, 0));
  PetscCall(VecGetLocalSize(Z, &nz));
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArrayRead(Z, &z));
  PetscCall(VecGetArray(V, &v));
  PetscCall(f->ops.evaluate_at(f, h, x, nz / f->dim, z, v));
  PetscCall(VecRestoreArray(V, &v));
  PetscCall(VecRestoreArrayRead(Z, &z));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(PetscLogEventEnd(ds_events.field, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_rms(DSField f, const PetscReal *v, PetscReal *rms)
{
  PetscReal local = 0, global;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < f->local_count * f->dim; i++) local += v[i] * v[i];
  PetscCallMPI(MPI_Allreduce(&local, &global, 1, MPIU_REAL, MPI_SUM, f->comm));
  *rms = PetscSqrtReal(global / ((PetscReal)f->global_count * f->dim));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_count_underflow(DSField f, PetscInt slot, PetscReal h, PetscInt local)
{
  PetscInt global;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(&local, &global, 1, MPIU_INT, MPI_SUM, f->comm));
  f->diagnostic_values[slot] = (PetscReal)global;
  if (!global || f->underflow_said) PetscFunctionReturn(0);
  f->underflow_said = PETSC_TRUE;
  PetscCall(PetscPrintf(f->comm, "driftsim: note: %" PetscInt_FMT " of the %" PetscInt_FMT " particles feel no drift: every kernel value entering their velocity underflowed to 0 at h = %g (diagnostic underflowed_particles); a larger -drift_bandwidth avoids it\n", global, f->global_count, (double)h));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_set_diagnostics(DSField f, PetscBool on)
{
  PetscFunctionBeginUser;
  f->want_diagnostics = on;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_get_diagnostics(DSField f, PetscInt *count, const char *const **names, const PetscReal **values)
{
  PetscFunctionBeginUser;
  *count = f->ndiagnostics;
  if (names) *names = (const char *const *)f->diagnostic_names;
  if (values) *values = f->diagnostic_values;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_get_diagnostic(DSField f, const char name[], PetscReal *value)
{
  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < f->ndiagnostics; k++)
    if (!strcmp(f->diagnostic_names[k], name)) {
      *value = f->diagnostic_values[k];
      PetscFunctionReturn(0);
    }
  SETERRQ(f->comm, PETSC_ERR_ARG_OUTOFRANGE, "-drift_field %s has no diagnostic called %s", f->type->name, name);
}

PetscErrorCode ds_field_get_pair_count(DSField f, PetscLogDouble *pairs)
{
  PetscFunctionBeginUser;
  *pairs = f->pairs;
  PetscFunctionReturn(0);
}

PetscErrorCode ds_field_destroy(DSField *field)
{
  DSField f = *field;

  PetscFunctionBeginUser;
  if (!f) PetscFunctionReturn(0);
  if (f->ops.destroy) PetscCall(f->ops.destroy(f));
  for (PetscInt k = 0; k < f->ndiagnostics; k++) PetscCall(PetscFree(f->diagnostic_names[k]));
  PetscCall(PetscFree(*field));
  PetscFunctionReturn(0);
}

/* The rules between options (ds_options_validate, ds_options.h): the third step of
   options.c's three, on a DSOptions from anywhere (the command line, a checkpoint's, a
   test's). Every message names the options and what they need. */
#include "ds_options.h"
#include "ds_field.h"
#include "ds_target.h"
#include "ds_ecf.h"

/* The Sinkhorn options apply to the sinkhorn field or the sinkhorn diagnostic group. */
static PetscErrorCode check_sinkhorn_options(MPI_Comm comm, const DSOptions *o)
{
  PetscBool field, divergence = (o->diagnostics & DS_DIAGNOSTIC_SINKHORN) ? PETSC_TRUE : PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(PetscStrcmp(o->field, "sinkhorn", &field));
  PetscCheck(!o->sinkhorn_epsilon_given || field, comm, PETSC_ERR_USER_INPUT, "-drift_sinkhorn_epsilon applies to -drift_field sinkhorn (-drift_field %s given); the sinkhorn_divergence diagnostic takes -drift_sinkhorn_divergence_epsilon", o->field);
  PetscCheck(!o->sinkhorn_divergence_epsilon_given || divergence, comm, PETSC_ERR_USER_INPUT, "-drift_sinkhorn_divergence_epsilon applies to the sinkhorn_divergence diagnostic: add sinkhorn to -drift_diagnostics");
  PetscCheck(!o->sinkhorn_solver_given || field || divergence, comm, PETSC_ERR_USER_INPUT, "the -drift_sinkhorn_* solver options apply to -drift_field sinkhorn and the sinkhorn_divergence diagnostic (-drift_diagnostics sinkhorn); neither is in this run");
  PetscCheck(o->sinkhorn_scaling < 1, comm, PETSC_ERR_USER_INPUT, "-drift_sinkhorn_scaling %g must be below 1: it multiplies eps at each eps-scaling step (0 for none)", (double)o->sinkhorn_scaling);
  PetscFunctionReturn(0);
}

/* The rules between options, in a fixed order: the first broken one is reported. Where a
   rule asks whether an option was given, its value tells (a given -drift_bandwidth_scale or
   -drift_bandwidth_min is > 0, a given file name is not empty) or a *_given flag does. */
PetscErrorCode ds_options_validate(MPI_Comm comm, const DSOptions *o)
{
  PetscFunctionBeginUser;
  PetscCall(ds_field_type_check(comm, o));
  PetscCall(ds_target_check_options(comm, o));
  PetscCheck(!(o->output_given && !o->output[0]), comm, PETSC_ERR_USER_INPUT, "-drift_output needs a file name");
  PetscCall(ds_options_check_sums(comm, o));
  if (o->target == DS_TARGET_FILE) {
    PetscCheck(o->target_file[0] && o->target_dataset[0], comm, PETSC_ERR_USER_INPUT, "-drift_target file needs -drift_target_file F.h5 and -drift_target_dataset /path");
    PetscCheck(!o->target_samples_given, comm, PETSC_ERR_USER_INPUT, "-drift_target_samples does not apply to -drift_target file: M is the dataset's row count");
  } else PetscCheck(!o->target_file[0] && !o->target_dataset[0], comm, PETSC_ERR_USER_INPUT, "-drift_target_file and -drift_target_dataset apply to -drift_target file (-drift_target %s given)", DSTargetTypes[o->target]);
  PetscCheck(!o->negatives_file[0] == !o->negatives_dataset[0], comm, PETSC_ERR_USER_INPUT, "-drift_negatives_file and -drift_negatives_dataset go together: give both (the HDF5 file and its [C][d] dataset)");
  for (int set = 0; set < DS_COLUMN_SETS; set++)
    PetscCheck(!o->weights_file[set][0] == !o->weights_dataset[set][0], comm, PETSC_ERR_USER_INPUT, "-drift_%s_weights_file and -drift_%s_weights_dataset go together: give both (the HDF5 file and its 1-D dataset)", DSColumnSets[set], DSColumnSets[set]);
  PetscCheck(!o->weights_file[DS_COLUMNS_NEGATIVES][0] || o->negatives_file[0], comm, PETSC_ERR_USER_INPUT, "-drift_negatives_weights_file weighs the negative samples: give -drift_negatives_file and -drift_negatives_dataset too");
  if (o->init == DS_INIT_FILE) PetscCheck(o->init_file[0] && o->init_dataset[0], comm, PETSC_ERR_USER_INPUT, "-drift_init file needs -drift_init_file F.h5 and -drift_init_dataset /path");
  else PetscCheck(!o->init_file[0] && !o->init_dataset[0], comm, PETSC_ERR_USER_INPUT, "-drift_init_file and -drift_init_dataset apply to -drift_init file (-drift_init %s given)", DSInitTypes[o->init]);
  PetscCheck(!(o->checkpoint_every || o->checkpoint_seconds > 0) || o->checkpoint[0], comm, PETSC_ERR_USER_INPUT, "-drift_checkpoint_every and -drift_checkpoint_seconds need the checkpoint file: give -drift_checkpoint FILE");
  PetscCheck(o->bandwidth_rule != DS_BANDWIDTH_RATE || o->bandwidth_scale > 0, comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_rule rate needs its constant: give -drift_bandwidth_scale c (h = c N^(-1/(d+4)))");
  PetscCheck(!(o->bandwidth_scale > 0) || o->bandwidth_rule == DS_BANDWIDTH_RATE, comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_scale is the constant of -drift_bandwidth_rule rate (-drift_bandwidth_rule %s given)", DSBandwidthRules[o->bandwidth_rule]);
  PetscCheck(!(o->bandwidth_anneal > 0) || o->bandwidth_min > 0, comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_anneal needs the smallest bandwidth: give -drift_bandwidth_min h_min");
  PetscCheck(!(o->bandwidth_min > 0) || o->bandwidth_anneal > 0, comm, PETSC_ERR_USER_INPUT, "-drift_bandwidth_min applies to an annealed bandwidth: give -drift_bandwidth_anneal r > 0");
  PetscCall(check_sinkhorn_options(comm, o));
  PetscCheck(!o->necf_shells || (o->diagnostics & DS_DIAGNOSTIC_ECF), comm, PETSC_ERR_USER_INPUT, "-drift_ecf_shells asks for the ecf diagnostics, but -drift_diagnostics leaves the ecf group out: add ecf to it");
  PetscCall(ds_ecf_check_shells(comm, o->necf_shells, o->ecf_shells));
  PetscCheck(!o->ecf_directions_given || o->necf_shells, comm, PETSC_ERR_USER_INPUT, "-drift_ecf_directions applies to the ecf diagnostics: give their shells with -drift_ecf_shells");
  PetscCheck(o->fisher_draws != 1, comm, PETSC_ERR_USER_INPUT, "-drift_fisher_draws 1 cannot estimate its own standard error: give Q >= 2 (or 0 for none)");
  PetscCall(ds_options_check_index_width(comm, o));
  PetscFunctionReturn(0);
}

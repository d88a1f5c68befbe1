/* Shared by the target suite's files (check_target.c: refused options and the smoothed
   mixture; check_target_samples.c: the sample sets): the options of a target, and the
   samples' test case. */
#ifndef TARGET_TEST_H
#define TARGET_TEST_H

#include "ds_target.h"
#include "ds_test.h"

/* Target options; every other option its default (the gaussian kernel among them). Not
   validated: the refused combinations test ds_target_create's own checks. */
static inline DSOptions target_options(DSTargetType type, PetscInt dim, PetscInt samples, PetscReal scale, PetscBool replicate)
{
  DSOptions o = ds_test_options();

  o.dim            = dim;
  o.seed           = 4242;
  o.target         = type;
  o.target_samples = samples;
  o.target_scale   = scale;
  o.replicate_data = replicate;
  return o;
}

/* The test case of check_target_samples.c: rank-count independence, partition, moments and
   shapes of the sample sets. */
TCase *target_test_samples(void);

#endif

/* The signals that end a run early, with a checkpoint: SIGTERM, SIGUSR1 (what Slurm's
   --signal sends) and SIGINT (Ctrl-C). Installed at the very start of main, so that one
   arriving during start-up is not lost; acted on before the first step and after each. */
#ifndef DS_SIGNALS_H
#define DS_SIGNALS_H

/* Installs the handler for SIGTERM, SIGUSR1 and SIGINT; it only records the signal. Then
   unblocks them in the calling thread, so that one a launcher kept blocked and pending
   across exec is recorded now. Called before MPI_Init and again after PetscInitialize
   (which installs its own). Local. */
void ds_signals_install(void);

/* The last of these signals received by this process, or 0. Local. */
int ds_signals_received(void);

#endif

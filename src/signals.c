/* The signals that end a run early (ds_signals.h): the handler records the signal; the
   simulation agrees on it across ranks at its next step boundary. */
#include <signal.h>
#include <string.h>
#include "ds_signals.h"

static volatile sig_atomic_t received = 0;

static void on_signal(int sig) { received = sig; }

void ds_signals_install(void)
{
  const int        signals[] = {SIGTERM, SIGUSR1, SIGINT};
  struct sigaction action;
  sigset_t         ours;

  memset(&action, 0, sizeof(action));
  action.sa_handler = on_signal;
  action.sa_flags   = SA_RESTART; /* MPI's and HDF5's system calls go on undisturbed */
  sigemptyset(&action.sa_mask);
  sigemptyset(&ours);
  for (size_t k = 0; k < sizeof(signals) / sizeof(signals[0]); k++) {
    (void)sigaction(signals[k], &action, NULL);
    sigaddset(&ours, signals[k]);
  }
  /* A launcher may start driftsim with these blocked, so that one arriving while the program
     is still being loaded waits (the jobscripts do): it is delivered here, to the handler. */
  (void)pthread_sigmask(SIG_UNBLOCK, &ours, NULL);
}

int ds_signals_received(void) { return received; }

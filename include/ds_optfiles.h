/* The -options_file arguments checked before PetscInitialize, which would crash on a file
   that includes itself and give a traceback on a directory, garbage or a missing name. */
#ifndef DS_OPTFILES_H
#define DS_OPTFILES_H

#include <stddef.h>

/* Checks every -options_file of argv (argc entries) and, recursively, every -options_file
   inside those files: the name is given, the file is a readable regular file, each line's
   first word is an option (-name), "alias" or a comment, and no file includes itself
   through any chain. Returns 0 when all pass; otherwise 1 with a message naming the option
   and file in `message` (len bytes). Plain C, no MPI: the caller runs it on one rank. */
int ds_options_files_check(int argc, char **argv, char *message, size_t len);

/* ds_options_files_check that also calls visit(name, from, ctx) for every options file it
   reads, in the order PETSc reads them: `name` as written, `from` the file that includes
   it (NULL on the command line). The strings live only for the call. */
int ds_options_files_walk(int argc, char **argv, void (*visit)(const char *name, const char *from, void *ctx), void *ctx, char *message, size_t len);

#endif

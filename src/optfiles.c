/* Options files checked as PETSc 3.18 will read them (PetscOptionsInsertFile): comments
   from '#', '!' or '%', the first word of a line an option name or "alias", and a nested
   -options_file read in turn. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "ds_optfiles.h"

#define MAX_DEPTH 16 /* nesting deeper than this is refused as a likely loop */

/* The files being read, outermost first: a file whose device and inode are already on the
   chain includes itself. Each file read is shown to visit (when set) with its includer. */
typedef struct {
  dev_t dev[MAX_DEPTH];
  ino_t ino[MAX_DEPTH];
  int   depth;
  void (*visit)(const char *name, const char *from, void *ctx);
  void *ctx;
} Chain;

static int check_file(const char *name, const char *from, Chain *chain, char *message, size_t len);

/* The -options_file arguments among words[0..n): each names a file checked in turn. */
static int check_words(char **words, int n, const char *from, Chain *chain, char *message, size_t len)
{
  for (int w = 0; w < n; w++) {
    if (strcmp(words[w], "-options_file")) continue;
    if (w + 1 >= n || words[w + 1][0] == '-') {
      snprintf(message, len, "-options_file%s%s needs a file name", from ? " in " : "", from ? from : "");
      return 1;
    }
    if (check_file(words[w + 1], from, chain, message, len)) return 1;
  }
  return 0;
}

/* The words of one line (comments stripped, cut in place), at most max of them. */
static int split_line(char *line, char **words, int max)
{
  int n = 0;
  line[strcspn(line, "#!%\r\n")] = 0;
  for (char *p = strtok(line, " \t"); p && n < max; p = strtok(NULL, " \t")) words[n++] = p;
  return n;
}

static int check_file(const char *name, const char *from, Chain *chain, char *message, size_t len)
{
  struct stat st;
  char        line[4096], *words[256];
  int         number = 0, bad = 0;
  FILE       *f;

  if (stat(name, &st) || !(f = fopen(name, "r"))) {
    snprintf(message, len, "-options_file %s cannot be read: %s", name, strerror(errno));
    return 1;
  }
  if (!S_ISREG(st.st_mode)) {
    fclose(f);
    snprintf(message, len, "-options_file %s is not a regular file%s", name, S_ISDIR(st.st_mode) ? " (a directory)" : "");
    return 1;
  }
  for (int k = 0; k < chain->depth; k++)
    if (chain->dev[k] == st.st_dev && chain->ino[k] == st.st_ino) {
      fclose(f);
      snprintf(message, len, "-options_file %s includes itself (through %s)", name, from ? from : name);
      return 1;
    }
  if (chain->depth == MAX_DEPTH) {
    fclose(f);
    snprintf(message, len, "-options_file %s: options files nested more than %d deep", name, MAX_DEPTH);
    return 1;
  }
  if (chain->visit) chain->visit(name, from, chain->ctx);
  chain->dev[chain->depth] = st.st_dev;
  chain->ino[chain->depth] = st.st_ino;
  chain->depth++;
  while (!bad && fgets(line, sizeof(line), f)) {
    const int n = split_line(line, words, 256);
    number++;
    if (!n || words[0][0] == '-' || !strcmp(words[0], "alias")) bad = check_words(words, n, name, chain, message, len);
    else {
      for (char *p = words[0]; *p; p++)
        if (!isprint((unsigned char)*p)) *p = '?';
      snprintf(message, len, "-options_file %s, line %d: %.40s is not an option (an options file holds -name value lines and # comments)", name, number, words[0]);
      bad = 1;
    }
  }
  fclose(f);
  chain->depth--;
  return bad;
}

int ds_options_files_walk(int argc, char **argv, void (*visit)(const char *name, const char *from, void *ctx), void *ctx, char *message, size_t len)
{
  Chain chain = {.depth = 0, .visit = visit, .ctx = ctx};
  message[0]  = 0;
  return check_words(argv + 1, argc - 1, NULL, &chain, message, len);
}

int ds_options_files_check(int argc, char **argv, char *message, size_t len) { return ds_options_files_walk(argc, argv, NULL, NULL, message, len); }

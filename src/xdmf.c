/* The XDMF sidecar (ds_xdmf.h): its text from the series alone, and its atomic update. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "ds_xdmf.h"

/* Writes `text` with XML's special characters escaped. */
static PetscErrorCode xml_text(FILE *f, const char *text)
{
  PetscFunctionBeginUser;
  for (; *text; text++) {
    const char c = *text, *entity = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;" : NULL;

    if (entity) fputs(entity, f);
    else fputc(c, f);
  }
  PetscFunctionReturn(0);
}

/* Writes a HyperSlab DataItem selecting snapshot t, [1][N][d] from start [t 0 0] with
   stride [1 1 1], of the [T][N][d] float64 dataset `dataset` of the series' file. */
static PetscErrorCode xml_snapshot(FILE *f, const DSXdmfSeries *s, PetscInt t, const char *dataset)
{
  const PetscInt T = s->count, n = s->n, d = s->dim;

  PetscFunctionBeginUser;
  fprintf(f, "          <DataItem ItemType=\"HyperSlab\" Dimensions=\"1 %" PetscInt_FMT " %" PetscInt_FMT "\" Type=\"HyperSlab\">\n", n, d);
  fprintf(f, "            <DataItem Dimensions=\"3 3\" Format=\"XML\">%" PetscInt_FMT " 0 0 1 1 1 1 %" PetscInt_FMT " %" PetscInt_FMT "</DataItem>\n", t, n, d);
  fprintf(f, "            <DataItem Dimensions=\"%" PetscInt_FMT " %" PetscInt_FMT " %" PetscInt_FMT "\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">", T, n, d);
  PetscCall(xml_text(f, s->h5));
  fprintf(f, ":%s</DataItem>\n", dataset);
  fprintf(f, "          </DataItem>\n");
  PetscFunctionReturn(0);
}

PetscErrorCode ds_xdmf_write(FILE *f, const DSXdmfSeries *s)
{
  PetscFunctionBeginUser;
  fprintf(f, "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n<Xdmf Version=\"2.0\">\n  <Domain>\n");
  fprintf(f, "    <Grid Name=\"particles\" GridType=\"Collection\" CollectionType=\"Temporal\">\n");
  for (PetscInt t = 0; t < s->count; t++) {
    fprintf(f, "      <Grid Name=\"step %" PetscInt_FMT "\" GridType=\"Uniform\">\n", s->steps[t]);
    fprintf(f, "        <Time Value=\"%.17g\"/>\n", (double)s->times[t]);
    fprintf(f, "        <Topology TopologyType=\"Polyvertex\" NumberOfElements=\"%" PetscInt_FMT "\" NodesPerElement=\"1\"/>\n", s->n);
    fprintf(f, "        <Geometry GeometryType=\"%s\">\n", s->dim == 2 ? "XY" : "XYZ");
    PetscCall(xml_snapshot(f, s, t, "/particles/position"));
    fprintf(f, "        </Geometry>\n");
    if (s->velocity) {
      fprintf(f, "        <Attribute Name=\"velocity\" AttributeType=\"Vector\" Center=\"Node\">\n");
      PetscCall(xml_snapshot(f, s, t, "/particles/velocity"));
      fprintf(f, "        </Attribute>\n");
    }
    fprintf(f, "      </Grid>\n");
  }
  fprintf(f, "    </Grid>\n  </Domain>\n</Xdmf>\n");
  PetscFunctionReturn(0);
}

PetscErrorCode ds_xdmf_sidecar_path(const char *path, char sidecar[], size_t len)
{
  size_t plen;

  PetscFunctionBeginUser;
  PetscCall(PetscStrlen(path, &plen));
  if (plen >= 3 && !strcmp(path + plen - 3, ".h5")) plen -= 3;
  PetscCheck(plen + sizeof(".xmf") <= len, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "%s: the name of its XDMF description is too long", path);
  PetscCall(PetscStrncpy(sidecar, path, plen + 1));
  PetscCall(PetscStrlcat(sidecar, ".xmf", len));
  PetscFunctionReturn(0);
}

PetscErrorCode ds_xdmf_update(const char *sidecar, const DSXdmfSeries *s, int *err)
{
  char  tmp[PETSC_MAX_PATH_LEN + 8];
  FILE *f;

  PetscFunctionBeginUser;
  *err = 0;
  if ((s->dim != 2 && s->dim != 3) || !s->count) {
    if (unlink(sidecar) && errno != ENOENT) *err = errno;
    PetscFunctionReturn(0);
  }
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", sidecar));
  f = fopen(tmp, "w");
  if (!f) {
    *err = errno;
    PetscFunctionReturn(0);
  }
  PetscCall(ds_xdmf_write(f, s));
  if (ferror(f)) *err = EIO;
  else if (fflush(f) || fsync(fileno(f))) *err = errno;
  if (fclose(f) && !*err) *err = errno;
  if (!*err && rename(tmp, sidecar)) *err = errno;
  if (*err) unlink(tmp);
  PetscFunctionReturn(0);
}

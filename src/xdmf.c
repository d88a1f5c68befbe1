/* The XDMF sidecar (ds_xdmf.h): its text from the series alone, its views file, and their
   update.

   ParaView 5.11's default XDMF reader (Xdmf3) crashes on HyperSlab DataItems and makes no
   cells from a Polyvertex topology without connectivity, so the text cannot select row t
   of /particles/position itself. The views file next to the output holds, for every
   snapshot t, HDF5 virtual datasets /position/<t> and /velocity/<t> ([N][d], mapping row t of
   the output's [T][N][d] series: no data is copied), and /cells ([N][1], 0 to N-1: one
   vertex cell per particle). The output is written through MPI-IO, which cannot create
   virtual datasets in HDF5 1.10, so the views live in a file of their own, written by one
   rank through the default (serial) driver. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hdf5.h>
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

/* Writes a DataItem of the views file: its dataset `name` of `rows` x `columns` values
   (Float of 8 bytes, or Int of 4). */
static PetscErrorCode xml_view(FILE *f, const DSXdmfSeries *s, const char *name, PetscInt rows, PetscInt columns, PetscBool integer)
{
  PetscFunctionBeginUser;
  fprintf(f, "          <DataItem Dimensions=\"%" PetscInt_FMT " %" PetscInt_FMT "\" NumberType=\"%s\" Precision=\"%d\" Format=\"HDF\">", rows, columns, integer ? "Int" : "Float", integer ? 4 : 8);
  PetscCall(xml_text(f, s->views));
  fprintf(f, ":%s</DataItem>\n", name);
  PetscFunctionReturn(0);
}

PetscErrorCode ds_xdmf_write(FILE *f, const DSXdmfSeries *s)
{
  char name[64];

  PetscFunctionBeginUser;
  fprintf(f, "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n<Xdmf Version=\"2.0\">\n  <Domain>\n");
  fprintf(f, "    <Grid Name=\"particles\" GridType=\"Collection\" CollectionType=\"Temporal\">\n");
  for (PetscInt t = 0; t < s->count; t++) {
    fprintf(f, "      <Grid Name=\"step %" PetscInt_FMT "\" GridType=\"Uniform\">\n", s->steps[t]);
    fprintf(f, "        <Time Value=\"%.17g\"/>\n", (double)s->times[t]);
    fprintf(f, "        <Topology TopologyType=\"Polyvertex\" NumberOfElements=\"%" PetscInt_FMT "\" NodesPerElement=\"1\">\n", s->n);
    PetscCall(xml_view(f, s, "/cells", s->n, 1, PETSC_TRUE));
    fprintf(f, "        </Topology>\n        <Geometry GeometryType=\"%s\">\n", s->dim == 2 ? "XY" : "XYZ");
    PetscCall(PetscSNPrintf(name, sizeof(name), "/position/%" PetscInt_FMT, t));
    PetscCall(xml_view(f, s, name, s->n, s->dim, PETSC_FALSE));
    fprintf(f, "        </Geometry>\n");
    if (s->velocity) {
      fprintf(f, "        <Attribute Name=\"velocity\" AttributeType=\"Vector\" Center=\"Node\">\n");
      PetscCall(PetscSNPrintf(name, sizeof(name), "/velocity/%" PetscInt_FMT, t));
      PetscCall(xml_view(f, s, name, s->n, s->dim, PETSC_FALSE));
      fprintf(f, "        </Attribute>\n");
    }
    fprintf(f, "      </Grid>\n");
  }
  fprintf(f, "    </Grid>\n  </Domain>\n</Xdmf>\n");
  PetscFunctionReturn(0);
}

PetscErrorCode ds_xdmf_paths(const char *path, char sidecar[], char views[], size_t len)
{
  size_t plen;

  PetscFunctionBeginUser;
  PetscCall(PetscStrlen(path, &plen));
  if (plen >= 3 && !strcmp(path + plen - 3, ".h5")) plen -= 3;
  PetscCheck(plen + sizeof(".views.h5") <= len, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "%s: the name of its XDMF description is too long", path);
  PetscCall(PetscStrncpy(sidecar, path, plen + 1));
  PetscCall(PetscStrncpy(views, path, plen + 1));
  PetscCall(PetscStrlcat(sidecar, ".xmf", len));
  PetscCall(PetscStrlcat(views, ".views.h5", len));
  PetscFunctionReturn(0);
}

/* Creates, in the views file `file`, the virtual dataset /<source>/<t>: row t of the
   output's /particles/<source>; 0, or -1 on an HDF5 failure. */
static int view_create(hid_t file, const DSXdmfSeries *s, const char *source, PetscInt t)
{
  const hsize_t view_dims[2] = {(hsize_t)s->n, (hsize_t)s->dim}, source_dims[3] = {(hsize_t)s->count, (hsize_t)s->n, (hsize_t)s->dim};
  const hsize_t start[3] = {(hsize_t)t, 0, 0}, count[3] = {1, (hsize_t)s->n, (hsize_t)s->dim};
  char          name[64], path[64];
  hid_t         view_space = H5Screate_simple(2, view_dims, NULL), source_space = H5Screate_simple(3, source_dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = H5Pcreate(H5P_LINK_CREATE), id = -1;

  snprintf(name, sizeof(name), "/%s/%" PetscInt_FMT, source, t);
  snprintf(path, sizeof(path), "/particles/%s", source);
  if (view_space >= 0 && source_space >= 0 && dcpl >= 0 && lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0 && H5Sselect_hyperslab(source_space, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
      H5Pset_virtual(dcpl, view_space, s->h5, path, source_space) >= 0)
    id = H5Dcreate2(file, name, H5T_IEEE_F64LE, view_space, lcpl, dcpl, H5P_DEFAULT);
  const int failed = id < 0 || H5Dclose(id) < 0;
  H5Pclose(lcpl);
  H5Pclose(dcpl);
  H5Sclose(source_space);
  H5Sclose(view_space);
  return failed ? -1 : 0;
}

/* Brings the views file `views` up to date with the series, from an empty file when
   `fresh`, else from the file as it is: /cells, and the views of snapshots 0 to count - 1
   (those of later snapshots, cut by a restart, are removed); 0, or -1 on an HDF5 failure. */
static int views_write(const char *views, const DSXdmfSeries *s, PetscBool fresh)
{
  hid_t file = fresh ? H5Fcreate(views, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT) : H5Fopen(views, H5F_ACC_RDWR, H5P_DEFAULT);
  int   failed = file < 0;
  char  name[64];

  if (!failed && H5Lexists(file, "/cells", H5P_DEFAULT) <= 0) {
    const hsize_t dims[2] = {(hsize_t)s->n, 1};
    int          *index   = malloc(sizeof(int) * (size_t)PetscMax(s->n, 1));
    hid_t         space   = H5Screate_simple(2, dims, NULL), id = space >= 0 ? H5Dcreate2(file, "/cells", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    for (PetscInt i = 0; index && i < s->n; i++) index[i] = (int)i;
    failed = !index || id < 0 || H5Dwrite(id, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, index) < 0 || H5Dclose(id) < 0 || H5Sclose(space) < 0;
    free(index);
  }
  for (int v = 0; v < 1 + (s->velocity ? 1 : 0) && !failed; v++) {
    const char  *source = v ? "velocity" : "position";
    const htri_t group  = H5Lexists(file, v ? "/velocity" : "/position", H5P_DEFAULT);
    failed              = group < 0;
    /* Views exist for 0 to some k - 1: remove those of cut snapshots (from count up), then
       add the missing ones (from count - 1 down), so an update costs what changed. */
    for (PetscInt t = s->count; group > 0 && !failed; t++) {
      snprintf(name, sizeof(name), "/%s/%" PetscInt_FMT, source, t);
      const htri_t exists = H5Lexists(file, name, H5P_DEFAULT);
      if (exists <= 0) {
        failed = exists < 0;
        break;
      }
      failed = H5Ldelete(file, name, H5P_DEFAULT) < 0;
    }
    for (PetscInt t = s->count - 1; t >= 0 && !failed; t--) {
      snprintf(name, sizeof(name), "/%s/%" PetscInt_FMT, source, t);
      const htri_t exists = t == s->count - 1 && group <= 0 ? 0 : H5Lexists(file, name, H5P_DEFAULT);
      if (exists != 0) {
        failed = exists < 0;
        break;
      }
      failed = view_create(file, s, source, t) < 0;
    }
  }
  if (file >= 0 && H5Fclose(file) < 0) failed = 1;
  return failed ? -1 : 0;
}

/* views_write on the views file as it is, and made again from nothing when it is missing or
   cannot be brought up to date: the views derive from the output alone, and a run killed
   while it updated them can leave a file HDF5 no longer opens (seen after kill -9, test
   test_kill9.sh). Called by one rank, through HDF5's default driver. */
static int views_update(const char *views, const DSXdmfSeries *s)
{
  if (!access(views, F_OK) && !views_write(views, s, PETSC_FALSE)) return 0;
  return views_write(views, s, PETSC_TRUE);
}

PetscErrorCode ds_xdmf_update(const char *sidecar, const char *views, const DSXdmfSeries *s, int *err)
{
  char  tmp[PETSC_MAX_PATH_LEN + 8];
  FILE *f;

  PetscFunctionBeginUser;
  *err = 0;
  if ((s->dim != 2 && s->dim != 3) || !s->count) {
    if (unlink(sidecar) && errno != ENOENT) *err = errno;
    if (unlink(views) && errno != ENOENT && !*err) *err = errno;
    PetscFunctionReturn(0);
  }
  if (views_update(views, s)) {
    *err = EIO;
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

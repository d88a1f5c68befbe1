/* Tests of the XDMF sidecar's text (src/xdmf.c) as a pure function of the series: rank 0
   writes the sidecars of a few series and parses each with a real XML parser (Python's
   xml.etree.ElementTree), which checks the structure against the series: the temporal
   collection, one grid per snapshot with its step and exact time, the Polyvertex topology
   with its [N][1] connectivity, and the DataItems whose dimensions and paths must name the
   views file's [N][d] datasets /position/<t> and /velocity/<t>. (Whether ParaView reads
   them is tests/scripts/test_paraview.sh.) */
#include <stdio.h>
#include <unistd.h>
#include "ds_xdmf.h"
#include "ds_test.h"

/* Reads the expectations (argv[1]: the views file's name; "n d velocity"; the steps; the times with
   17 digits) and the sidecar (argv[2]); an AssertionError names the first difference. */
static const char *const parser =
  "import sys, xml.etree.ElementTree as ET\n"
  "lines = open(sys.argv[1]).read().split('\\n')\n"
  "h5 = lines[0]\n"
  "n, d, velocity = (int(v) for v in lines[1].split())\n"
  "steps = [int(v) for v in lines[2].split()]\n"
  "times = [float(v) for v in lines[3].split()]\n"
  "T = len(steps)\n"
  "root = ET.parse(sys.argv[2]).getroot()\n"
  "assert root.tag == 'Xdmf' and root.get('Version') == '2.0', root.attrib\n"
  "domains = root.findall('Domain')\n"
  "assert len(domains) == 1 and len(domains[0]) == 1, 'one Domain with one collection'\n"
  "coll = domains[0][0]\n"
  "assert coll.tag == 'Grid' and coll.get('GridType') == 'Collection' and coll.get('CollectionType') == 'Temporal', coll.attrib\n"
  "grids = coll.findall('Grid')\n"
  "assert len(grids) == T == len(coll), (len(grids), T)\n"
  "def view(item, dataset, columns, kind, precision):\n"
  "    assert item.get('Format') == 'HDF' and item.get('NumberType') == kind and item.get('Precision') == precision, item.attrib\n"
  "    assert [int(v) for v in item.get('Dimensions').split()] == [n, columns], item.get('Dimensions')\n"
  "    assert item.text == h5 + ':' + dataset, (item.text, h5, dataset)\n"
  "for t, g in enumerate(grids):\n"
  "    assert g.get('GridType') == 'Uniform' and g.get('Name') == 'step %d' % steps[t], g.attrib\n"
  "    tv = g.findall('Time')\n"
  "    assert len(tv) == 1 and float(tv[0].get('Value')) == times[t], (t, tv[0].get('Value'), times[t])\n"
  "    top = g.find('Topology')\n"
  "    assert top.get('TopologyType') == 'Polyvertex' and top.get('NumberOfElements') == str(n) and top.get('NodesPerElement') == '1', top.attrib\n"
  "    view(top.find('DataItem'), '/cells', 1, 'Int', '4')\n"
  "    geo = g.findall('Geometry')\n"
  "    assert len(geo) == 1 and geo[0].get('GeometryType') == ('XY' if d == 2 else 'XYZ'), geo[0].attrib\n"
  "    view(geo[0].find('DataItem'), '/position/%d' % t, d, 'Float', '8')\n"
  "    att = g.findall('Attribute')\n"
  "    assert len(att) == (1 if velocity else 0), len(att)\n"
  "    if velocity:\n"
  "        a = att[0]\n"
  "        assert a.get('Name') == 'velocity' and a.get('AttributeType') == 'Vector' and a.get('Center') == 'Node', a.attrib\n"
  "        view(a.find('DataItem'), '/velocity/%d' % t, d, 'Float', '8')\n";

/* The series the test runs through: file name, N, d, velocities, snapshot count (times
   with 17 significant digits, steps not starting at 0). */
static const struct {
  const char *views;
  PetscInt    n, dim, count;
  PetscBool   velocity;
} series_cases[] = {
  {"run.views.h5",                  7,      2, 3,  PETSC_TRUE },
  {"a&b <\"quoted\"> c'd.views.h5", 5,      3, 1,  PETSC_FALSE},
  {"empty.views.h5",                4,      2, 0,  PETSC_TRUE },
  {"long run.views.h5",             100000, 3, 40, PETSC_TRUE },
};

/* Writes the sidecar of series_cases[c] to `xmf` and its expectations to `expected`, then
   runs the parser on both; 1 when it accepts them. Serial. */
static int sidecar_parses(int c, const char *xmf, const char *expected)
{
  PetscInt     steps[64];
  PetscReal    times[64];
  DSXdmfSeries s;
  char         command[3 * PETSC_MAX_PATH_LEN];
  FILE        *f;
  int          status;

  s.h5       = "unused.h5"; /* the text names the views file only */
  s.views    = series_cases[c].views;
  s.n        = series_cases[c].n;
  s.dim      = series_cases[c].dim;
  s.count    = series_cases[c].count;
  s.velocity = series_cases[c].velocity;
  s.steps    = steps;
  s.times    = times;
  for (PetscInt t = 0; t < s.count; t++) {
    steps[t] = 3 + 5 * t;
    times[t] = 0.1 * t + 1.0 / 3.0;
  }
  f = fopen(xmf, "w");
  if (!f || ds_xdmf_write(f, &s) || ferror(f) || fclose(f)) return 0;
  f = fopen(expected, "w");
  if (!f) return 0;
  fprintf(f, "%s\n%d %d %d\n", s.views, (int)s.n, (int)s.dim, (int)s.velocity);
  for (PetscInt t = 0; t < s.count; t++) fprintf(f, "%d ", (int)steps[t]);
  fprintf(f, "\n");
  for (PetscInt t = 0; t < s.count; t++) fprintf(f, "%.17g ", (double)times[t]);
  fprintf(f, "\n");
  if (fclose(f)) return 0;
  snprintf(command, sizeof(command), "/usr/bin/python3 - '%s' '%s'", expected, xmf);
  f = popen(command, "w");
  if (!f) return 0;
  fputs(parser, f);
  status = pclose(f);
  if (status) fprintf(stderr, "the parser refused the sidecar of series %d (%s)\n", c, xmf);
  return status == 0;
}

/* Each series' sidecar parses as XML and has the structure of the series. */
START_TEST(test_sidecar_parses)
{
  char xmf[PETSC_MAX_PATH_LEN], expected[PETSC_MAX_PATH_LEN], tag[32];
  int  ok = 1;

  snprintf(tag, sizeof(tag), "series%d.xmf", _i);
  DS_ASSERT_PETSC(ds_test_path("xdmf", tag, xmf, sizeof(xmf)));
  snprintf(tag, sizeof(tag), "series%d.expected", _i);
  DS_ASSERT_PETSC(ds_test_path("xdmf", tag, expected, sizeof(expected)));
  if (PetscGlobalRank == 0) {
    ok = sidecar_parses(_i, xmf, expected);
    unlink(xmf);
    unlink(expected);
  }
  DS_ASSERT_PETSC(MPI_Bcast(&ok, 1, MPI_INT, 0, PETSC_COMM_WORLD));
  DS_ASSERT_ALL(ok, "the sidecar of series %d (%s, N = %d, d = %d, %d snapshots) does not parse to its structure", _i, series_cases[_i].views, (int)series_cases[_i].n, (int)series_cases[_i].dim, (int)series_cases[_i].count);
}
END_TEST

Suite *ds_suite_xdmf(void)
{
  Suite *s = suite_create("xdmf");
  TCase *tc = tcase_create("sidecar");

  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_sidecar_parses, 0, (int)(sizeof(series_cases) / sizeof(series_cases[0])));
  suite_add_tcase(s, tc);
  return s;
}

# Run by tests/scripts/test_paraview.sh under pvpython: opens OUT.xmf the way a user does
# (OpenDataFile picks ParaView's default reader for .xmf; the GUI passes absolute paths) and
# checks it against OUT.h5 read with h5py: the reader, the time steps, N points and N
# vertex cells at every step, the positions and velocities; saves a screenshot.
import sys
import h5py
import numpy as np
from paraview.simple import OpenDataFile, Show, Render, SaveScreenshot, GetActiveViewOrCreate, ResetCamera
from paraview import servermanager
from vtk.util.numpy_support import vtk_to_numpy

xmf, h5, png = sys.argv[1:4]
with h5py.File(h5, "r") as f:
    times = f["particles/time"][()]
    position = f["particles/position"][()]
    velocity = f["particles/velocity"][()] if "particles/velocity" in f else None
T, N, d = position.shape
reader = OpenDataFile(xmf)
assert reader.GetXMLName() == "Xdmf3ReaderS", "default reader is %s" % reader.GetXMLName()
steps = list(reader.TimestepValues)
assert len(steps) == T and np.allclose(steps, times, rtol=1e-12, atol=0), (steps, times)
for t, time in enumerate(steps):
    reader.UpdatePipeline(time)
    data = servermanager.Fetch(reader)
    block = data.GetBlock(0) if data.IsA("vtkMultiBlockDataSet") else data
    assert block.GetNumberOfPoints() == N and block.GetNumberOfCells() == N, (t, block.GetNumberOfPoints(), block.GetNumberOfCells(), N)
    # one point per cell: VTK_VERTEX (1) or a one-point VTK_POLY_VERTEX (2)
    assert all(block.GetCellType(c) in (1, 2) and block.GetCell(c).GetNumberOfPoints() == 1 for c in range(N)), "cells are not single vertices"
    points = vtk_to_numpy(block.GetPoints().GetData())
    assert np.array_equal(points[:, :d], position[t]) and (d == 3 or not points[:, 2].any()), "positions of step %d differ" % t
    if velocity is not None:
        v = vtk_to_numpy(block.GetPointData().GetArray("velocity"))
        assert np.array_equal(v[:, :d], velocity[t]), "velocities of step %d differ" % t
view = GetActiveViewOrCreate("RenderView")
Show(reader, view)
ResetCamera(view)
Render(view)
SaveScreenshot(png, view, ImageResolution=[480, 360])
print("paraview_check: %s: reader %s, %d steps, %d points and cells each, positions%s as in the HDF5" % (xmf, reader.GetXMLName(), T, N, " and velocities" if velocity is not None else ""))

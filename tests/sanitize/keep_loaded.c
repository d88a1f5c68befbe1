/* Preloaded (LD_PRELOAD) into the instrumented test runs only (tools/run-tests --sanitize):
   dlclose keeps every library loaded. Open MPI unloads its components at MPI_Finalize,
   before LeakSanitizer checks at exit; a leaked block's frames in an unloaded component then
   lie in no module, and GCC 12's libsanitizer rereads /proc/self/maps for each such frame
   while matching tools/lsan.supp: 2.6 s of system time per process (doc/design.md, "The
   test budget"). Kept loaded, those frames are named and each check takes milliseconds. */
int dlclose(void *handle);

int dlclose(void *handle)
{
  (void)handle;
  return 0;
}

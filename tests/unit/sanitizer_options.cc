// The sanitizers' default options for unit_tests in a KVMM_SANITIZE tree: the
// runtimes call these before main, and the environment (ASAN_OPTIONS, ...)
// still overrides them. Every finding ends the test with a failure, so
// ctest and tools/test's sanitize stage see it.
extern "C" {

// Read by ASan: leaks fail too (LeakSanitizer runs at exit).
const char* __asan_default_options() { return "detect_leaks=1:check_initialization_order=1"; }

// Read by UBSan: the build has -fno-sanitize-recover; the stack says where.
const char* __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }

// Read by TSan: stop at the first race; the suppressions are in the file
// named here, each with why it is there.
const char* __tsan_default_options() {
  return "halt_on_error=1:second_deadlock_stack=1:suppressions=" KVMM_TSAN_SUPPRESSIONS;
}

}  // extern "C"

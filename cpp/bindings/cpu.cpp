// gmmcore._cpu: what the running CPU and the OpenMP runtime offer. Compiled for
// the baseline ISA (no -march flag) so that it loads on any CPU; the loader in
// python/gmmcore/_native.py asks it which _native_* module may be imported.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace py = pybind11;

namespace {

// The x86-64 micro-architecture levels (x86-64-v2, -v3, -v4) this CPU and OS
// support, lowest first; empty on other architectures.
std::vector<std::string> supported_levels() {
  std::vector<std::string> levels;
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
  // GCC 12 checks each level's full feature list (and OS support for the
  // AVX/AVX-512 register state).
  const bool v2 = __builtin_cpu_supports("x86-64-v2");
  const bool v3 = v2 && __builtin_cpu_supports("x86-64-v3");
  const bool v4 = v3 && __builtin_cpu_supports("x86-64-v4");
#else
  // Other compilers: the level's defining features that every compiler knows.
  const bool v2 = __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("ssse3") &&
                  __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("sse4.2");
  const bool v3 = v2 && __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
                  __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("fma");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512vl");
#endif
  if (v2) levels.emplace_back("x86-64-v2");
  if (v3) levels.emplace_back("x86-64-v3");
  if (v4) levels.emplace_back("x86-64-v4");
#endif
  return levels;
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "gmmcore CPU and OpenMP runtime queries (baseline build)";
  m.def("supported_levels", &supported_levels,
        "x86-64 micro-architecture levels the CPU supports, lowest first (empty off x86-64)");
#ifdef _OPENMP
  m.attr("openmp") = true;
  m.def("max_threads", [] { return omp_get_max_threads(); }, "OpenMP's thread count for the next parallel region");
#else
  m.attr("openmp") = false;
  m.def("max_threads", [] { return 1; }, "1: built without OpenMP");
#endif
}

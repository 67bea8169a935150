// Runs the registered cases: all of them, or those of the group named by argv[1].
#include <exception>
#include <iostream>
#include <string>

#include "check.hpp"

int main(int argc, char** argv) {
  const std::string group = argc > 1 ? argv[1] : "";
  int run = 0, failed = 0;
  for (const auto& c : gmmcore_test::registry()) {
    if (!group.empty() && c.group != group) continue;
    ++run;
    const int before = gmmcore_test::failures();
    try {
      c.body();
    } catch (const std::exception& e) {
      gmmcore_test::fail(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    }
    const bool ok = gmmcore_test::failures() == before;
    failed += ok ? 0 : 1;
    std::cout << (ok ? "[ ok ] " : "[FAIL] ") << c.group << "." << c.name << std::endl;
  }
  if (run == 0) {
    std::cout << "no test case in group '" << group << "' (skipped)" << std::endl;
    return 77;  // ctest SKIP_RETURN_CODE
  }
  std::cout << run - failed << "/" << run << " cases passed" << std::endl;
  return failed == 0 ? 0 : 1;
}

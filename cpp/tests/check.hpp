#pragma once
// A minimal test harness for the C++ unit tests (no framework needed):
//   GMMCORE_TEST(group, name) { CHECK(cond); CHECK_CLOSE(a, b, rtol, atol); CHECK_THROWS(expr, Type); }
// registers a case; `gmmcore_tests [group]` runs every case (of that group) and
// exits non-zero if any check failed or a case threw. ctest runs one group per
// test_<group>.cpp file. A check records the failure and the case goes on.
#include <cmath>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace gmmcore_test {

struct Case {
  std::string group;
  std::string name;
  void (*body)();
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

inline int& failures() {
  static int count = 0;
  return count;
}

struct Register {
  Register(const char* group, const char* name, void (*body)()) { registry().push_back({group, name, body}); }
};

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::cerr << "  " << file << ":" << line << ": check failed: " << what << "\n";
}

// |a - b| <= atol + rtol |b|, and infinities must match exactly.
inline bool close(double a, double b, double rtol, double atol) {
  if (std::isnan(a) || std::isnan(b)) return false;
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::abs(a - b) <= atol + rtol * std::abs(b);
}

}  // namespace gmmcore_test

#define GMMCORE_TEST_CAT2(a, b) a##b
#define GMMCORE_TEST_CAT(a, b) GMMCORE_TEST_CAT2(a, b)
#define GMMCORE_TEST(group, name)                                                                                      \
  static void GMMCORE_TEST_CAT(test_, GMMCORE_TEST_CAT(group, GMMCORE_TEST_CAT(_, name)))();                           \
  static const gmmcore_test::Register GMMCORE_TEST_CAT(register_, GMMCORE_TEST_CAT(group, GMMCORE_TEST_CAT(_, name)))( \
      #group, #name, &GMMCORE_TEST_CAT(test_, GMMCORE_TEST_CAT(group, GMMCORE_TEST_CAT(_, name))));                    \
  static void GMMCORE_TEST_CAT(test_, GMMCORE_TEST_CAT(group, GMMCORE_TEST_CAT(_, name)))()

#define CHECK(cond)                                             \
  do {                                                          \
    if (!(cond)) gmmcore_test::fail(__FILE__, __LINE__, #cond); \
  } while (0)

// CHECK with the case it failed for (a std::string) in the message.
#define CHECK_MSG(cond, what)                                                                    \
  do {                                                                                           \
    if (!(cond)) gmmcore_test::fail(__FILE__, __LINE__, std::string(#cond " (") + (what) + ")"); \
  } while (0)

#define CHECK_CLOSE(a, b, rtol, atol)                                                                                \
  do {                                                                                                               \
    const double check_a_ = static_cast<double>(a), check_b_ = static_cast<double>(b);                               \
    if (!gmmcore_test::close(check_a_, check_b_, (rtol), (atol))) {                                                  \
      std::ostringstream check_msg_;                                                                                 \
      check_msg_.precision(17);                                                                                      \
      check_msg_ << #a << " = " << check_a_ << " vs " << #b << " = " << check_b_ << " (rtol " << (rtol) << ", atol " \
                 << (atol) << ")";                                                                                   \
      gmmcore_test::fail(__FILE__, __LINE__, check_msg_.str());                                                      \
    }                                                                                                                \
  } while (0)

// expr must throw `type`; on success `check_error_` (the exception) is visible
// to an optional following statement through CHECK_THROWS_WITH.
#define CHECK_THROWS_WITH(expr, type, on_error)                                                                      \
  do {                                                                                                               \
    bool check_thrown_ = false;                                                                                      \
    try {                                                                                                            \
      (void)(expr);                                                                                                  \
    } catch (const type& check_error_) {                                                                             \
      check_thrown_ = true;                                                                                          \
      on_error;                                                                                                      \
    } catch (const std::exception& check_other_) {                                                                   \
      check_thrown_ = true;                                                                                          \
      gmmcore_test::fail(__FILE__, __LINE__, std::string(#expr " threw another exception: ") + check_other_.what()); \
    }                                                                                                                \
    if (!check_thrown_) gmmcore_test::fail(__FILE__, __LINE__, #expr " did not throw " #type);                       \
  } while (0)
#define CHECK_THROWS(expr, type) CHECK_THROWS_WITH(expr, type, (void)check_error_)

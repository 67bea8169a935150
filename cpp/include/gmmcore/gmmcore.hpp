#pragma once
// The whole public C++ API of gmmcore (header-only, templated on float/double).
#include "gmmcore/backward.hpp"
#include "gmmcore/em.hpp"
#include "gmmcore/errors.hpp"
#include "gmmcore/factorization.hpp"
#include "gmmcore/forward.hpp"
#include "gmmcore/log_likelihood.hpp"
#include "gmmcore/logsumexp.hpp"
#include "gmmcore/params.hpp"
#include "gmmcore/responsibilities.hpp"
#include "gmmcore/types.hpp"

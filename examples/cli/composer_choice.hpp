#pragma once

#include <cstdint>
#include <string>

#include <lorahub/lora/any_composer.hpp>

namespace lorahub::cli {

/// A composer named on the command line with its options (--density, --svd-rank, ...).
struct composer_choice {
    std::string name = "weighted-ab";
    double density = 1.0;
    std::int64_t svd_rank = 0;
    double svd_clamp = 0.0;  ///< 0: none
    std::string majority_sign = "total";
    std::int64_t seed = 42;

    /// The composer it names, set up with its options (composer_choice.cpp: the one translation
    /// unit that compiles every composer); `flag` names it in errors.
    any_composer composer(const char* flag) const;
};

}  // namespace lorahub::cli

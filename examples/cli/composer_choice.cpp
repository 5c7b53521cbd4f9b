#include "composer_choice.hpp"

#include <lorahub/lora/any_composer.hpp>
#include <lorahub/lora/policies.hpp>

namespace lorahub::cli {

any_composer composer_choice::composer(const char* flag) const {
    combination_options options;
    options.density = density;
    options.svd_rank = static_cast<std::size_t>(svd_rank);
    if (svd_clamp > 0.0) options.svd_clamp = svd_clamp;
    options.sign = majority_sign_named(majority_sign);
    options.seed = static_cast<std::uint64_t>(seed);
    return any_composer::named(name, options, flag);
}

}  // namespace lorahub::cli

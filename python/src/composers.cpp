#include <lorahub/lora/policies.hpp>

#include "model_handle.hpp"

namespace lorahub::python {

any_composer make_composer(std::string_view name, const combination_options& options) {
    return any_composer::named(name, options, "composer");
}

}  // namespace lorahub::python

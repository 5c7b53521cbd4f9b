#include "held_model.hpp"

namespace lorahub::python {
template std::shared_ptr<const model_handle> load_held<cpu::backend>(const std::filesystem::path&);
}  // namespace lorahub::python

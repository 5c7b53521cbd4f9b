#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "lorahub/backend/cpu/backend.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/model/families.hpp"
#include "lorahub/model/llama/model.hpp"
#include "lorahub/model/model_options.hpp"
#include "lorahub/model/t5/model.hpp"

namespace lorahub {

/// Run-time choices of how a model runs, resolved to types: the family (model/families.hpp),
/// the backend of a precision, the model type of both.

/// Calls f.template operator()<Model>() with the model type that runs the model in
/// `model_directory` as `options` say: its family's model on the backend of that precision.
/// Nothing is loaded: `f` loads (Model::load) or hands the type on.
template <class F>
decltype(auto) with_model_type(const std::filesystem::path& model_directory, const model_options& options, F&& f) {
    if (options.device != "cpu")
        throw unsupported_error("device " + options.device, "the models run on the CPU here; the CUDA backend's models are built in .cu files "
                                                            "(tests/model/*/model_cuda_test.cu), not by this host-compiled code");
    return with_family(model_directory, [&]<class Family>() -> decltype(auto) {
        return with_cpu_backend(options.precision, [&]<class Backend>() -> decltype(auto) {
            return f.template operator()<typename Family::template model<Backend>>();
        });
    });
}

/// Loads the model in `model_directory` as `options` say and calls f(model).
template <class F>
decltype(auto) with_model(const std::filesystem::path& model_directory, const model_options& options, F&& f) {
    return with_model_type(model_directory, options, [&]<class Model>() -> decltype(auto) {
        const auto model = Model::load(model_directory);
        return f(model);
    });
}

}  // namespace lorahub

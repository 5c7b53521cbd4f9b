#pragma once

#include <string>
#include <string_view>

#include "lorahub/backend/cpu/declarations.hpp"
#include "lorahub/core/error.hpp"

namespace lorahub {

/// How a model is run: the compute precision of the CPU backend, and the device.
struct model_options {
    /// fp32 (cpu::backend, the reference) or bf16 (cpu::bf16_backend: bf16 linear layers with
    /// fp32 accumulation, fp32 elsewhere).
    std::string precision = "fp32";
    /// cpu. The CUDA backend's models are instantiated only in code nvcc compiles (.cu files).
    std::string device = "cpu";
};

/// The precisions model_options takes, as help texts list them.
inline constexpr std::string_view precisions[] = {"fp32", "bf16"};

/// Calls f.template operator()<Backend>() for the CPU backend of `precision` (the types need
/// not be complete here: backend/cpu/backend.hpp defines them).
template <class F>
decltype(auto) with_cpu_backend(std::string_view precision, F&& f) {
    if (precision == "fp32") return f.template operator()<cpu::backend>();
    if (precision == "bf16") return f.template operator()<cpu::bf16_backend>();
    throw argument_error("precision", "\"" + std::string(precision) + "\" is not fp32 or bf16");
}

}  // namespace lorahub

#pragma once

/// The CPU backend's names without their definitions: enough to name cpu::backend (as the
/// default backend of a model) where oneDNN's C++ header cannot be compiled (nvcc 13 stops
/// with an internal error on dnnl.hpp in C++20 mode).

#include <cstddef>

namespace lorahub::cpu {

template <std::size_t MinFlops>
struct basic_onednn_gemm;
using onednn_gemm = basic_onednn_gemm<2 * 64 * 64 * 64>;

template <class Gemm>
struct basic_backend;
/// The default CPU backend: oneDNN for the products (backend/cpu/backend.hpp).
using backend = basic_backend<onednn_gemm>;
/// bf16 linear layers with fp32 accumulation (backend/cpu/backend.hpp).
struct bf16_backend;

}  // namespace lorahub::cpu

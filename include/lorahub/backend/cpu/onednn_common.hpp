#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

namespace lorahub::cpu::onednn {

/// The CPU engine every oneDNN primitive of the backend runs on, and this thread's stream.
inline dnnl::engine& engine() {
    static dnnl::engine instance(dnnl::engine::kind::cpu, 0);
    return instance;
}
inline dnnl::stream& stream() {
    thread_local dnnl::stream instance(engine());
    return instance;
}

/// What a cached matmul primitive was made for: C[m, n] (row stride ldc) = alpha A[m, k]
/// B[k, n] + beta C with A and B of `type` (A's row stride lda; B's ldb, read as [n, k] rows
/// when `b_transposed`; ldb 0: B pre-packed in the layout oneDNN chose). An epilogue may follow
/// in fp32: C = activation(C) (undef: none), then C *= a dense [m, n] fp32 multiplier when
/// `multiplied`; C is stored as `output` (fp32, or bf16 for the input of another product).
struct matmul_shape {
    dnnl::memory::data_type type;
    std::size_t m, n, k, lda, ldb, ldc;
    bool b_transposed;
    float alpha, beta;
    dnnl::algorithm activation = dnnl::algorithm::undef;
    bool multiplied = false;
    dnnl::memory::data_type output = dnnl::memory::data_type::f32;
    bool operator==(const matmul_shape&) const = default;
};

/// The index among attributes_for(shape)'s post-ops of the multiplication.
inline int multiplier_post_op(const matmul_shape& shape) {
    return (shape.beta != 0.0f ? 1 : 0) + (shape.activation != dnnl::algorithm::undef ? 1 : 0);
}

/// The dense [m, n] fp32 multiplier of a `multiplied` shape.
inline dnnl::memory::desc multiplier_desc(const matmul_shape& shape) {
    return dnnl::memory::desc({static_cast<std::int64_t>(shape.m), static_cast<std::int64_t>(shape.n)}, dnnl::memory::data_type::f32,
                              dnnl::memory::format_tag::ab);
}

/// The attributes of `shape`: alpha as an output scale, beta as a sum post-op, then its epilogue's post-ops.
inline dnnl::primitive_attr attributes_for(const matmul_shape& shape) {
    dnnl::primitive_attr attributes;
    if (shape.alpha != 1.0f) attributes.set_output_scales(0, {shape.alpha});
    dnnl::post_ops operations;
    if (shape.beta != 0.0f) operations.append_sum(shape.beta);
    // alpha: swish's x sigmoid(alpha x) is SiLU with 1; relu's negative slope is 0; gelu ignores it
    if (shape.activation != dnnl::algorithm::undef)
        operations.append_eltwise(1.0f, shape.activation, shape.activation == dnnl::algorithm::eltwise_swish ? 1.0f : 0.0f, 0.0f);
    if (shape.multiplied) operations.append_binary(dnnl::algorithm::binary_mul, multiplier_desc(shape));
    attributes.set_post_ops(operations);
    return attributes;
}

struct matmul_shape_hash {
    std::size_t operator()(const matmul_shape& x) const noexcept {
        std::size_t h = 1469598103934665603ull;
        for (std::size_t v : {static_cast<std::size_t>(x.type), x.m, x.n, x.k, x.lda, x.ldb, x.ldc, std::size_t(x.b_transposed),
                              std::size_t(std::bit_cast<std::uint32_t>(x.alpha)), std::size_t(std::bit_cast<std::uint32_t>(x.beta)),
                              static_cast<std::size_t>(x.activation), std::size_t(x.multiplied), static_cast<std::size_t>(x.output)})
            h = (h ^ v) * 1099511628211ull;
        return h;
    }
};

/// A matmul primitive and its operands' descriptions (`multiplier`: a multiplied shape's).
struct cached_matmul {
    dnnl::matmul primitive;
    dnnl::memory::desc a, b, c, multiplier;
};

/// This thread's primitive for `shape` (made on first use; shapes vary with batch lengths, so
/// the cache is bounded). `packed_b`: B, pre-packed, when shape.ldb is 0.
inline const cached_matmul& matmul_for(const matmul_shape& shape, const dnnl::memory* packed_b = nullptr) {
    using dims = dnnl::memory::dims;
    thread_local std::unordered_map<matmul_shape, cached_matmul, matmul_shape_hash> cache;
    auto found = cache.find(shape);
    if (found != cache.end()) return found->second;
    if (cache.size() >= 256) cache.clear();
    const auto m = static_cast<std::int64_t>(shape.m), n = static_cast<std::int64_t>(shape.n), k = static_cast<std::int64_t>(shape.k);
    const auto ldb = static_cast<std::int64_t>(shape.ldb);
    const dnnl::memory::desc a_md(dims{m, k}, shape.type, dims{static_cast<std::int64_t>(shape.lda), 1});
    const dnnl::memory::desc b_md =
        packed_b != nullptr ? packed_b->get_desc() : dnnl::memory::desc(dims{k, n}, shape.type, shape.b_transposed ? dims{1, ldb} : dims{ldb, 1});
    const dnnl::memory::desc c_md(dims{m, n}, shape.output, dims{static_cast<std::int64_t>(shape.ldc), 1});
    const dnnl::matmul::primitive_desc descriptor(dnnl::matmul::desc(a_md, b_md, c_md), attributes_for(shape), engine());
    return cache.emplace(shape, cached_matmul{dnnl::matmul(descriptor), a_md, b_md, c_md, shape.multiplied ? multiplier_desc(shape) : dnnl::memory::desc()})
        .first->second;
}

/// Runs the matmul of `shape` on A, B and C (B as `shape` describes it, or the pre-packed
/// `packed_b`; C of the shape's output type; `multiplier` when the shape is `multiplied`).
inline void matmul(const matmul_shape& shape, const void* a, const void* b, void* c, const dnnl::memory* packed_b = nullptr,
                   const float* multiplier = nullptr) {
    const auto& entry = matmul_for(shape, packed_b);
    auto& s = stream();
    dnnl::memory a_mem(entry.a, engine(), const_cast<void*>(a));
    dnnl::memory c_mem(entry.c, engine(), c);
    const dnnl::memory b_mem = packed_b != nullptr ? *packed_b : dnnl::memory(entry.b, engine(), const_cast<void*>(b));
    if (shape.multiplied) {
        const dnnl::memory m_mem(entry.multiplier, engine(), const_cast<float*>(multiplier));
        entry.primitive.execute(s, {{DNNL_ARG_SRC, a_mem},
                                    {DNNL_ARG_WEIGHTS, b_mem},
                                    {DNNL_ARG_DST, c_mem},
                                    {DNNL_ARG_ATTR_MULTIPLE_POST_OP(multiplier_post_op(shape)) | DNNL_ARG_SRC_1, m_mem}});
    } else {
        entry.primitive.execute(s, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
    }
    s.wait();
}

}  // namespace lorahub::cpu::onednn

#pragma once

#include <cstring>
#include <iostream>
#include <streambuf>
#include <string>
#include <string_view>

#include <lorahub/core/printable.hpp>

namespace lorahub::cli {

/// A stream buffer that passes whole lines to `target` through printable(): whatever the
/// CLI prints (names, paths and messages that came from files included) reaches the
/// terminal as valid UTF-8 with no control characters but newline and tab.
class printable_buffer : public std::streambuf {
public:
    explicit printable_buffer(std::streambuf* target) : target_(target) {}
    printable_buffer(const printable_buffer&) = delete;
    printable_buffer& operator=(const printable_buffer&) = delete;
    ~printable_buffer() override { emit(pending_.size()); }

protected:
    int_type overflow(int_type c) override {
        if (traits_type::eq_int_type(c, traits_type::eof())) return sync() == 0 ? traits_type::not_eof(c) : traits_type::eof();
        pending_ += traits_type::to_char_type(c);
        if (c == '\n') emit(pending_.size());
        return c;
    }

    std::streamsize xsputn(const char* text, std::streamsize count) override {
        pending_.append(text, static_cast<std::size_t>(count));
        const auto last_line_end = pending_.rfind('\n');
        if (last_line_end != std::string::npos) emit(last_line_end + 1);
        return count;
    }

    int sync() override {
        emit(pending_.size());
        return target_->pubsync();
    }

private:
    void emit(std::size_t length) {
        if (length == 0) return;
        const auto safe = printable(std::string_view(pending_).substr(0, length), line_breaks::keep);
        target_->sputn(safe.data(), static_cast<std::streamsize>(safe.size()));
        pending_.erase(0, length);
    }

    std::streambuf* target_;
    std::string pending_;
};

/// Routes std::cout and std::cerr through printable_buffer for its lifetime.
class printable_standard_streams {
public:
    printable_standard_streams() {
        std::cout.rdbuf(&out_);
        std::cerr.rdbuf(&err_);
    }
    ~printable_standard_streams() {
        std::cout.flush();
        std::cerr.flush();
        std::cout.rdbuf(out_target_);
        std::cerr.rdbuf(err_target_);
    }
    printable_standard_streams(const printable_standard_streams&) = delete;
    printable_standard_streams& operator=(const printable_standard_streams&) = delete;

private:
    std::streambuf* out_target_ = std::cout.rdbuf();
    std::streambuf* err_target_ = std::cerr.rdbuf();
    printable_buffer out_{out_target_};
    printable_buffer err_{err_target_};
};

}  // namespace lorahub::cli

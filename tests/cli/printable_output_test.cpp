// Runs the lorahub CLI on files whose names and contents hold control characters and
// invalid UTF-8, and checks every byte it prints on stdout and stderr.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/core/printable.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/io/safetensors.hpp>

#include "../support/files.hpp"

extern char** environ;

using namespace lorahub;
using namespace std::string_literals;

namespace {

struct run_result {
    int status = -1;
    std::string out, err;
};

run_result run_cli(const test::temp_dir& dir, std::vector<std::string> arguments) {
    const auto out_path = dir / "stdout", err_path = dir / "stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    arguments.insert(arguments.begin(), LORAHUB_CLI);
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    run_result result;
    REQUIRE(posix_spawn(&pid, LORAHUB_CLI, &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    result.status = WEXITSTATUS(status);
    result.out = test::read_file(out_path);
    result.err = test::read_file(err_path);
    return result;
}

/// Valid UTF-8, and no control character but newline and tab: checked byte by byte.
void check_terminal_safe(const std::string& bytes) {
    INFO("output: " << printable(bytes, line_breaks::keep));
    CHECK(is_printable(bytes, line_breaks::keep));
    for (unsigned char c : bytes) {
        if (c == '\n' || c == '\t') continue;
        CHECK(c >= 0x20);
        CHECK(c != 0x7f);
    }
}

const std::string hostile_name = "bad\x1b[2J\x07\0name\x1b]0;owned\x07\xc2\x9b" "31m\nnext"s;

}  // namespace

TEST_CASE("inspect prints tensor names with control characters escaped, and --json keeps them exactly", "[cli][printable]") {
    test::temp_dir dir;
    const std::vector<float> values{1.0f, 2.0f};
    const std::vector<io::f32_tensor> tensors{{hostile_name, {2}, values}};
    io::write_safetensors(dir / "names.safetensors", tensors, dtype::f32);

    const auto text = run_cli(dir, {"inspect", (dir / "names.safetensors").string()});
    CHECK(text.status == 0);
    check_terminal_safe(text.out);
    check_terminal_safe(text.err);
    CHECK(text.out.find("bad\\x1b[2J\\x07\\x00name\\x1b]0;owned\\x07\\u009b31m\\x0anext") != std::string::npos);

    const auto as_json = run_cli(dir, {"inspect", "--json", (dir / "names.safetensors").string()});
    CHECK(as_json.status == 0);
    check_terminal_safe(as_json.out);
    const auto parsed = io::json::parse(as_json.out);
    CHECK(parsed["tensor_list"][0]["name"].get<std::string>() == hostile_name);
}

TEST_CASE("a header with invalid UTF-8 is reported with its bytes escaped", "[cli][printable]") {
    test::temp_dir dir;
    test::write_file(dir / "utf8.safetensors", test::safetensors_bytes("{\"\xff\xfe\x1b[31m\": 1}   ", ""));
    const auto result = run_cli(dir, {"inspect", (dir / "utf8.safetensors").string()});
    CHECK(result.status == 1);
    check_terminal_safe(result.out);
    check_terminal_safe(result.err);
    CHECK(result.err.rfind("error: ", 0) == 0);
    CHECK(result.err.find("\\xff") != std::string::npos);
}

TEST_CASE("paths, JSON strings and examples from files are printed escaped", "[cli][printable]") {
    test::temp_dir dir;
    const auto hostile_path = (dir / ("missing\x1b[2J\x9b" "dir")).string();
    const auto missing = run_cli(dir, {"inspect", hostile_path});
    CHECK(missing.status == 1);
    check_terminal_safe(missing.err);
    CHECK(missing.err.find("missing\\x1b[2J\\x9bdir: does not exist") != std::string::npos);

    std::filesystem::create_directories(dir / "model");
    test::write_file(dir / "model" / "config.json", "{\"feed_forward_proj\": \"gated-\\u001b[5mgelu\\u0007\", \"d_model\": 8}");
    const auto config = run_cli(dir, {"inspect", (dir / "model").string()});
    CHECK(config.status == 1);
    check_terminal_safe(config.err);
    CHECK(config.err.find("\\x1b[5m") != std::string::npos);

    test::write_file(dir / "examples.jsonl", "{\"input\": \"ok\", \"output\": \"fine\"}\n{\"input\": \x1b[1m \xff}\n");
    const auto examples = run_cli(dir, {"score", "--model", (dir / "model").string(), "--lora", (dir / "model").string(), "--examples",
                                        (dir / "examples.jsonl").string(), "--weights", "1"});
    CHECK(examples.status == 1);
    check_terminal_safe(examples.out);
    check_terminal_safe(examples.err);
}

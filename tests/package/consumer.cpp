// A program outside the project that uses the library as a package would.
#include <iostream>

#include <lorahub/lorahub.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: consumer FILE.safetensors\n";
        return 2;
    }
    try {
        const lorahub::io::safetensors_file file(argv[1]);
        std::size_t parameters = 0;
        for (const auto& view : file.tensors()) parameters += view.numel();
        std::cout << file.tensors().size() << " tensors, " << parameters << " parameters\n";
        return file.tensors().empty() ? 1 : 0;
    } catch (const lorahub::error& failure) {
        std::cerr << "error: " << failure.what() << "\n";
        return 1;
    }
}

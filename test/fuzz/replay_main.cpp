// Runs one fuzz target's LLVMFuzzerTestOneInput over every file of its committed corpus, in the
// regular (gcc) build: every decoder's promises are checked on the seed inputs in every test
// run, also where clang's libFuzzer is not installed (scripts/fuzz.sh does the real fuzzing).
//   fuzz_replay_TARGET DIR...   exit 0 when every input passed, 2 on a bad command line
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) == "--help") {
        std::fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
        return argc < 2 ? 2 : 0;
    }
    size_t inputs = 0;
    for (int i = 1; i < argc; ++i) {
        std::error_code ec;
        std::vector<std::filesystem::path> files;
        for (const auto& entry : std::filesystem::directory_iterator(argv[i], ec)) {
            if (entry.is_regular_file()) files.push_back(entry.path());
        }
        if (ec) {
            std::fprintf(stderr, "cannot read %s: %s\n", argv[i], ec.message().c_str());
            return 2;
        }
        for (const auto& file : files) {
            std::ifstream in(file, std::ios::binary);
            const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                          std::istreambuf_iterator<char>());
            // A broken promise aborts inside (MC_FUZZ_CHECK) and names the check.
            std::fprintf(stderr, "%s\n", file.filename().c_str());
            LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
            ++inputs;
        }
    }
    std::printf("%zu inputs replayed, every check held\n", inputs);
    return inputs > 0 ? 0 : 1;
}

// mc-area-gen: writes a transformer area with known injected meter errors (area.jsonl and
// truth.json, the format of the shared examples) for the remote error model.
//   mc-area-gen --out DIR [--seed S] [--meters N] [--intervals T] [--bad K] [--ill]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "test/tools/area_gen.h"

namespace {

void Usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: mc-area-gen --out DIR [--seed S] [--meters N] [--intervals T] [--bad K] "
                 "[--ill]\n"
                 "  writes DIR/area.jsonl and DIR/truth.json: N user meters (default 100), T "
                 "intervals (default 2880), K of them beyond the class-2 tolerance (default 5);\n"
                 "  --ill: every user follows one load shape (ill-conditioned).\n");
}

}  // namespace

int main(int argc, char** argv) {
    meterchain::testtools::AreaGenOptions o;
    std::string out;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "mc-area-gen: %s needs a value\n", argv[i]);
                std::exit(2);
            }
            return argv[++i];
        };
        auto number = [&]() -> unsigned long long {
            std::string v = value();
            char* end = nullptr;
            unsigned long long n = std::strtoull(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0') {
                std::fprintf(stderr, "mc-area-gen: %s: not a number: %s\n", std::string(a).c_str(),
                             v.c_str());
                std::exit(2);
            }
            return n;
        };
        if (a == "--help" || a == "-h") {
            Usage(stdout);
            return 0;
        } else if (a == "--out") {
            out = value();
        } else if (a == "--seed") {
            o.seed = number();
        } else if (a == "--meters") {
            o.meters = number();
        } else if (a == "--intervals") {
            o.intervals = number();
        } else if (a == "--bad") {
            o.out_of_tolerance = number();
        } else if (a == "--ill") {
            o.ill_conditioned = true;
        } else {
            std::fprintf(stderr, "mc-area-gen: unknown argument %s\n", argv[i]);
            Usage(stderr);
            return 2;
        }
    }
    if (out.empty() || o.meters == 0 || o.intervals == 0) {
        Usage(stderr);
        return 2;
    }
    auto area = meterchain::testtools::GenerateArea(o);
    auto s = meterchain::testtools::WriteArea(area, out);
    if (!s.ok()) {
        std::fprintf(stderr, "mc-area-gen: %s\n", s.ToString().c_str());
        return 1;
    }
    std::printf("wrote %s/area.jsonl (%zu meters, %zu intervals, %zu out of tolerance%s)\n",
                out.c_str(), o.meters, o.intervals, area.out_of_tolerance.size(),
                o.ill_conditioned ? ", ill-conditioned" : "");
    return 0;
}

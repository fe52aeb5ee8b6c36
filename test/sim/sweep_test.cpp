// The randomised sweep: thousands of seeds with random faults across 4, 7 and 10 validators.
// A failing seed prints its fault plan, the broken invariant and the replay command.
// MC_SIM_SEEDS=<count> scales every chunk (e.g. 100000 for a long run; not in CI).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "test/sim/simulator.h"

using namespace meterchain::sim;

namespace {

void Sweep(uint32_t nodes, uint64_t first_seed, uint64_t count) {
    if (const char* env = std::getenv("MC_SIM_SEEDS")) count = std::stoull(env);
    for (uint64_t seed = first_seed; seed < first_seed + count; ++seed) {
        SimConfig cfg;
        cfg.nodes = nodes;
        cfg.seed = seed;
        SimResult r = RunSimulation(cfg);
        if (!r.ok) {
            FAIL_CHECK(r.description << "\n"
                                     << r.failure << "\nreplay: build/test/sim/sim_run --nodes "
                                     << nodes << " --seed " << seed << " --trace");
            return;
        }
    }
    SUCCEED(count << " seeds passed for n=" << nodes);
}

}  // namespace

// 2,100 seeds in all, in chunks so that CTest can spread them over the cores.
TEST_CASE("sweep n=4 seeds 1-500", "[sim][sweep]") { Sweep(4, 1, 500); }
TEST_CASE("sweep n=4 seeds 501-1000", "[sim][sweep]") { Sweep(4, 501, 500); }
TEST_CASE("sweep n=7 seeds 1-350", "[sim][sweep]") { Sweep(7, 1, 350); }
TEST_CASE("sweep n=7 seeds 351-700", "[sim][sweep]") { Sweep(7, 351, 350); }
TEST_CASE("sweep n=10 seeds 1-200", "[sim][sweep]") { Sweep(10, 1, 200); }
TEST_CASE("sweep n=10 seeds 201-400", "[sim][sweep]") { Sweep(10, 201, 200); }

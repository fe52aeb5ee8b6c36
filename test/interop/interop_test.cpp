// A client in another language against a real 4-node cluster: test/interop/client.js (Node.js,
// npm packages pinned in package-lock.json, no project code) loads proto/ at run time, signs
// and submits transactions, waits for commit and verifies proofs, blocks and commit
// certificates itself. It keeps docs/INTEGRATING.md and docs/ENCODING.md honest: the day the
// wire format changes without them, this fails.
//
// The npm packages come from the interop_npm_ci test (CTest fixture "interop_npm") into
// MC_INTEROP_NODE_MODULES. Without node on PATH the test says why and exits with
// kSkipReturnCode, which CTest reports as skipped.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;

namespace {

constexpr int kSkipReturnCode = 77;  // SKIP_RETURN_CODE of this test in CMakeLists.txt

void SkipUnless(bool condition, const std::string& reason) {
    if (condition) return;
    std::printf("SKIPPED: %s\n", reason.c_str());
    std::fflush(stdout);
    std::exit(kSkipReturnCode);
}

}  // namespace

TEST_CASE("a Node.js client written from proto/ and the docs signs, submits and verifies blocks",
          "[interop]") {
    std::string version;
    SkipUnless(RunCommand("node --version", &version) == 0,
               "node is not on PATH (scripts/setup.sh installs Debian's nodejs and npm)");
    std::string npm_version;
    SkipUnless(RunCommand("npm --version", &npm_version) == 0,
               "npm is not on PATH (scripts/setup.sh installs Debian's nodejs and npm)");
    const std::string modules = MC_INTEROP_NODE_MODULES;
    INFO("npm packages missing in " << modules << ": run ctest -R interop_npm_ci first");
    REQUIRE(std::filesystem::exists(modules + "/@grpc/grpc-js"));

    // Node 3 serves its client API over TLS (the cluster CA's certificate): the client connects
    // to it with the CA file only.
    TestCluster cluster(4, [](int i, v1::NodeConfig& c) { c.set_client_tls(i == 3); });
    cluster.StartAll();
    for (int i = 0; i < 3; ++i) REQUIRE(cluster.WaitUp(i, In(30s)));
    REQUIRE(cluster.WaitForLog(3, "msg=\"started\"", In(30s)));

    std::string validators;
    for (const auto& n : cluster.summary().nodes) {
        validators += (validators.empty() ? "" : ",") + n.public_key_hex;
    }
    const auto& nodes = cluster.summary().nodes;
    const std::string command =
        "NODE_PATH='" + modules + "' timeout 180 node '" + SourceDir() +
        "/test/interop/client.js' --proto-root '" + SourceDir() + "' --node " +
        nodes[1].client_address + " --validators " + validators + " --tls-node " +
        nodes[3].client_address + " --ca '" + cluster.summary().ca_file +
        "' --tls-name localhost --count 8";
    std::string output;
    const int rc = RunCommand(command, &output);
    std::cout << "node " << version << output;  // the client's progress lines, for ctest -V
    INFO(command << "\n" << output << "\nnode warnings:\n" << cluster.Problems());
    REQUIRE(rc == 0);
    CHECK_THAT(output, Catch::Contains("checks passed"));
}

// End-to-end secure read (CON-2) across real meterchaind processes: the owner's record stays in
// its node's vault, the requester asks through its own node, the owner's node process delivers
// by itself, and the requester decrypts with its one-time key. Drives the real `meterctl`.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "contracts/common.h"
#include "contracts/offchain.h"
#include "contracts/records.h"
#include "node/config/config.h"
#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;

namespace {

constexpr int kUtility = 0;
constexpr int kRegulator = 1;
constexpr int kThirdParty = 2;
constexpr int kInstitute = 3;

const std::string kMeter =
    R"({"barCode": "1230001008100035600000", "assetNo": "TJ1000000", "arrivalBatchNo": )"
    R"("AB20240001", "manufacturer": "M02", "meterType": "单相智能电能表", "accuracyClass": "2", )"
    R"("wireModel": "01", "wireModeName": "单相", "owningUnit": "国网天津市电力公司", )"
    R"("supplyStation": "SS10", "installDate": "2020-09-04", "state": "运行"})";
const std::string kSampling =
    R"({"taskNo": "SJ20240042", "barCode": "1230001008100035600000", "runningCondition": )"
    R"("运行正常", "address": "天津市河西区友谊路42号", "result": "合格", "inspector": "王五", )"
    R"("sampleTime": "2024-04-01 10:00:00"})";
const std::string kSamplingId = "SJ20240042|1230001008100035600000";

struct Run {
    int rc = -1;
    std::string out;
};

// Runs `meterctl <args>`; the output is kept for failure messages.
Run Meterctl(const std::string& args) {
    Run r;
    r.rc = RunCommand(MeterctlPath() + " " + args, &r.out);
    return r;
}

uint64_t Nonce(TestCluster& cluster, int node, int of) {
    auto raw = FromHex(cluster.summary().nodes[of].public_key_hex);
    REQUIRE(raw);
    auto v = cluster.client(node).Query("state", "nonce", *raw);
    uint64_t n = 0;
    if (v.ok()) {
        for (uint8_t b : *v) n = (n << 8) | b;
    }
    return n;
}

// The record printed by secdata-request: its last line of output.
std::string LastLine(const std::string& out) {
    std::istringstream in(out);
    std::string line, last;
    while (std::getline(in, line)) {
        if (!line.empty()) last = line;
    }
    return last;
}

bool Contains(const Bytes& haystack, std::string_view needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
           haystack.end();
}

uint64_t WallMs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

size_t Count(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("secure read: the owner's node delivers a vault record to the requester's one-time key",
          "[e2e][secdata]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    auto cfg = [&](int i) { return cluster.ConfigPath(i); };

    // The utility registers the meter (a public record: sealed, checked on every node with the
    // chain validation key); the regulator uploads a sampling record, which is digest-only: the
    // content goes into the regulator node's vault, the chain gets its SM3 digest.
    Run meter = Meterctl("secdata-upload --config " + cfg(kUtility) +
                         " --type RECORD_METER_ASSET --cosign " + cfg(kThirdParty) + " --json '" +
                         kMeter + "'");
    INFO(meter.out << cluster.Problems());
    REQUIRE(meter.rc == 0);
    REQUIRE_THAT(meter.out, Catch::Contains("1/1 valid"));
    Run sampling = Meterctl("secdata-upload --config " + cfg(kRegulator) +
                            " --type RECORD_SAMPLING --cosign " + cfg(kThirdParty) + " --json '" +
                            kSampling + "'");
    INFO(sampling.out);
    REQUIRE(sampling.rc == 0);
    auto regulator_cfg = config::LoadNodeConfig(cfg(kRegulator));
    REQUIRE(regulator_cfg.ok());
    const auto vault_file = std::filesystem::path(regulator_cfg->data_dir()) / "offchain" /
                            contracts::OffchainVault::StoreKey(v1::RECORD_SAMPLING, kSamplingId);
    CHECK(std::filesystem::exists(vault_file));

    Run issue = Meterctl("secdata-credential --config " + cfg(kRegulator) +
                         " --id CRED-42 --grantee institute --types RECORD_SAMPLING");
    INFO(issue.out);
    REQUIRE(issue.rc == 0);
    // People read the expiry as local ISO 8601 with the zone offset.
    CHECK(std::regex_search(issue.out, std::regex("valid until \\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:"
                                                  "\\d{2}\\.\\d{3}[+-]\\d{2}:\\d{2} ")));
    const uint64_t regulator_nonce = Nonce(cluster, kInstitute, kRegulator);
    CHECK(regulator_nonce == 2);  // the upload and the credential

    // The institute asks through its own node; nobody but the regulator's node process acts
    // for the regulator from here on.
    Run read =
        Meterctl("secdata-request --config " + cfg(kInstitute) + " --type RECORD_SAMPLING --id '" +
                 kSamplingId + "' --credential CRED-42 --timeout-ms 20000");
    INFO(read.out << cluster.Problems());
    REQUIRE(read.rc == 0);
    CHECK_THAT(read.out,
               Catch::Contains("granted") && Catch::Contains("SM3 matches the on-chain digest"));
    auto got = contracts::ParseRecordJson(v1::RECORD_SAMPLING, LastLine(read.out));
    INFO(got.status().ToString());
    REQUIRE(got.ok());
    auto original = contracts::ParseRecordJson(v1::RECORD_SAMPLING, kSampling);
    REQUIRE(original.ok());
    CHECK(contracts::SerializeProto(**got) == contracts::SerializeProto(**original));
    // The Deliver transaction was signed with the regulator's key by its node.
    CHECK(Nonce(cluster, kInstitute, kRegulator) == regulator_nonce + 1);
    CHECK(Count(cluster.ReadLog(kRegulator), "msg=\"delivery submitted\"") == 1);

    // No block holds the sampling record's private fields or the meter's plaintext (CON-3).
    const uint64_t tip = cluster.client(kInstitute).GetStatus()->height();
    for (uint64_t h = 1; h <= tip; ++h) {
        auto block = cluster.client(kInstitute).GetBlock(h);
        REQUIRE(block.ok());
        for (const auto& tx : block->transactions) {
            CHECK_FALSE(Contains(tx.body, "友谊路42号"));  // sampling: digest only
            CHECK_FALSE(Contains(tx.body, "TJ1000000"));   // meter: sealed
            CHECK_FALSE(Contains(tx.body, "国网天津市电力公司"));
        }
    }

    // Refused across the real nodes: a revoked credential...
    Run revoke =
        Meterctl("secdata-credential --config " + cfg(kRegulator) + " --id CRED-42 --revoke");
    INFO(revoke.out);
    REQUIRE(revoke.rc == 0);
    // ...also after the owner's node restarts, which must not deliver anything twice.
    REQUIRE(cluster.Terminate(kRegulator));
    cluster.Start(kRegulator);
    REQUIRE(cluster.WaitUp(kRegulator, In(20s)));
    Run revoked =
        Meterctl("secdata-request --config " + cfg(kInstitute) + " --type RECORD_SAMPLING --id '" +
                 kSamplingId + "' --credential CRED-42 --timeout-ms 5000");
    INFO(revoked.out);
    CHECK(revoked.rc != 0);
    CHECK_THAT(revoked.out, Catch::Contains("refused: CREDENTIAL_REVOKED"));
    CHECK_FALSE(Contains(ToBytes(revoked.out), "友谊路"));

    // ...and an expired one (block time, not the requester's clock, decides: the request's
    // block is proposed after the expiry).
    Run short_lived = Meterctl("secdata-credential --config " + cfg(kRegulator) +
                               " --id CRED-43 --grantee institute --types RECORD_SAMPLING "
                               "--valid-ms 1500 --json");
    INFO(short_lived.out);
    REQUIRE(short_lived.rc == 0);
    // The expiry in milliseconds is in the --json output only (people get an ISO 8601 time).
    const std::string kNotAfter = "\"not_after_ms\": ";
    const auto until = short_lived.out.find(kNotAfter);
    REQUIRE(until != std::string::npos);
    const uint64_t not_after = std::stoull(short_lived.out.substr(until + kNotAfter.size()));
    // Expiry is a moment in (block) time: what is awaited here is time itself passing, not
    // another process, so the wait is until that moment (bounded: --valid-ms 1500).
    std::this_thread::sleep_until(std::chrono::system_clock::time_point(
        std::chrono::milliseconds(not_after + 1)));
    REQUIRE(WallMs() > not_after);
    Run expired =
        Meterctl("secdata-request --config " + cfg(kInstitute) + " --type RECORD_SAMPLING --id '" +
                 kSamplingId + "' --credential CRED-43 --timeout-ms 5000");
    INFO(expired.out);
    CHECK(expired.rc != 0);
    CHECK_THAT(expired.out, Catch::Contains("refused: CREDENTIAL_EXPIRED"));

    // Every node agrees, and the restarted owner node delivered nothing again: the regulator's
    // key signed the upload, two credentials, one revocation and exactly one Deliver.
    const uint64_t end = cluster.client(kInstitute).GetStatus()->height();
    REQUIRE(cluster.WaitHeight(end, In(20s)));
    for (int i = 0; i < cluster.size(); ++i) {
        INFO("node " << i);
        CHECK(Nonce(cluster, i, kRegulator) == regulator_nonce + 3);
    }
    CHECK(Count(cluster.ReadLog(kRegulator), "msg=\"delivery submitted\"") == 1);
}

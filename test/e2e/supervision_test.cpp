// End to end on four meterchaind processes: the regulator's supervision workflows through gRPC
// (meterctl demo's supervision step and the meterctl sampling commands), with every figure read
// from every node and compared byte for byte.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "contracts/common.h"
#include "contracts/supervision.h"
#include "proto/metrology.pb.h"
#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;

namespace {

constexpr int kRegulator = 1;

struct Run {
    int rc = -1;
    std::string out;
};

Run Meterctl(const std::string& args) {
    Run r;
    r.rc = RunCommand(MeterctlPath() + " " + args, &r.out);
    return r;
}

Bytes Ask(TestCluster& cluster, int node, const std::string& method, const std::string& id) {
    v1::QueryArgs q;
    q.set_id(id);
    auto bytes = cluster.client(node).Query(std::string(contracts::kSupervisionContract), method,
                                            AsBytes(q.SerializeAsString()));
    INFO(method << " " << id << " on node " << node << ": "
                << (bytes.ok() ? "" : bytes.status().ToString()));
    REQUIRE(bytes.ok());
    return *bytes;
}

// The same answer from every node.
template <typename M>
M AskAll(TestCluster& cluster, const std::string& method, const std::string& id = "") {
    Bytes first = Ask(cluster, 0, method, id);
    for (int i = 1; i < cluster.size(); ++i) {
        INFO(method << " " << id << " differs on node " << i);
        CHECK(Ask(cluster, i, method, id) == first);
    }
    M m;
    REQUIRE(m.ParseFromArray(first.data(), static_cast<int>(first.size())));
    return m;
}

// The plan ids of the demo's supervision step ("plan DEMO-<stamp>-<n>: ...").
std::vector<std::string> DemoPlans(const std::string& out) {
    std::vector<std::string> plans;
    for (size_t at = out.find("plan DEMO-"); at != std::string::npos;
         at = out.find("plan DEMO-", at + 1)) {
        size_t start = at + 5;
        plans.push_back(out.substr(start, out.find(':', start) - start));
    }
    return plans;
}

}  // namespace

TEST_CASE("supervision: sampling plan, random sample, re-check import, alerts and the batch rule "
          "agree on four nodes",
          "[e2e][supervision]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    Run demo = Meterctl("demo --dir " + cluster.dir() + " --data " + SourceDir() +
                        "/test/data --records 20");
    INFO(demo.out << cluster.Problems());
    REQUIRE(demo.rc == 0);
    REQUIRE_THAT(demo.out, Catch::Contains("re-check import: 1 inconsistent of 2"));
    REQUIRE_THAT(demo.out, Catch::Contains("3 inconsistent of 5"));
    REQUIRE_THAT(demo.out, Catch::Contains("FAILED: re-verify the batch"));
    auto plans = DemoPlans(demo.out);
    REQUIRE(plans.size() == 2);
    const uint64_t tip = cluster.client(kRegulator).GetStatus()->height();
    REQUIRE(cluster.WaitHeight(tip, In(20s)));

    auto plan1 = AskAll<v1::SamplingPlan>(cluster, "Plan", plans[0]);
    CHECK(plan1.code_letter() == "A");
    CHECK(plan1.sample_size() == 2);
    CHECK(plan1.ac() == 0);
    auto sample1 = AskAll<v1::SampleSet>(cluster, "Sample", plans[0]);
    CHECK(sample1.meter_keys_size() == 2);
    CHECK(sample1.drawn_count() == 2);
    auto report1 = AskAll<v1::RecheckReport>(cluster, "Recheck", plans[0]);
    CHECK(report1.inconsistent_count() == 1);
    CHECK_FALSE(report1.batch_failed());
    auto report2 = AskAll<v1::RecheckReport>(cluster, "Recheck", plans[1]);
    CHECK(report2.inconsistent_count() == 3);
    CHECK(report2.batch_failed());
    auto batch1 = AskAll<v1::BatchStats>(cluster, "Batch", "AB20240001");
    CHECK(batch1.first_verification_failed());
    CHECK(batch1.needs_reverification());
    auto batch2 = AskAll<v1::BatchStats>(cluster, "Batch", "AB20240002");
    CHECK_FALSE(batch2.first_verification_failed());
    auto alerts = AskAll<v1::AlertList>(cluster, "Alerts", "institute");
    int meter_alerts = 0, batch_alerts = 0;
    for (const auto& a : alerts.alerts()) {
        meter_alerts += a.kind() == "RECHECK_INCONSISTENT";
        batch_alerts += a.kind() == "BATCH_FIRST_VERIFICATION_FAILED";
    }
    CHECK(meter_alerts == 4);  // 1 + 3 inconsistent meters
    CHECK(batch_alerts >= 1);  // one per institution responsible for the failed batch
    auto overview = AskAll<v1::VerificationOverview>(cluster, "Overview");
    CHECK(overview.all().total() == 42);
    CHECK(overview.failed_batches() == 1);
    CHECK(overview.full_inspection().total() + overview.sampling().total() == 42);
    AskAll<v1::OutOfToleranceOverview>(cluster, "OutOfTolerance");
    AskAll<v1::SwitchingRecord>(cluster, "Switching", "M03");

    // The meterctl commands: a plan (printed as JSON), a sample chosen by the regulator, and the
    // refusals of a wrong batch, a meter not in the sample and a second import.
    const std::string cfg = cluster.ConfigPath(kRegulator);
    Run local = Meterctl("sampling plan --lot 3200 --level II --aql 1.0");
    INFO(local.out);
    CHECK(local.rc == 0);
    CHECK_THAT(local.out, Catch::Contains("\"codeLetter\": \"K\""));
    CHECK_THAT(local.out, Catch::Contains("\"sampleSize\": 125"));
    Run create = Meterctl("sampling create --config " + cfg +
                          " --plan E2E-1 --batch AB20240003 --level II --aql 6.5");
    INFO(create.out);
    REQUIRE(create.rc == 0);
    Run draw = Meterctl("sampling draw --config " + cfg +
                        " --plan E2E-1 --bar-codes 1230001008100035600002,1230001008100035600014 "
                        "--meters " + SourceDir() + "/test/data/meters.jsonl");
    INFO(draw.out);
    REQUIRE(draw.rc == 0);
    const std::string file = cluster.dir() + "/recheck.jsonl";
    auto write = [&](const std::vector<std::string>& bars) {
        std::ofstream out(file);
        for (const auto& b : bars) {
            out << R"({"barCode": ")" << b << R"(", "veriResult": "合格"})" << "\n";
        }
    };
    write({"1230001008100035600002", "1230001008100035600014"});
    Run wrong_batch = Meterctl("sampling import --config " + cfg +
                               " --plan E2E-1 --batch AB20240004 --file " + file);
    CHECK(wrong_batch.rc != 0);
    CHECK_THAT(wrong_batch.out, Catch::Contains("does not match the plan's batch"));
    write({"1230001008100035600002", "1230001008100035600000"});
    Run outsider = Meterctl("sampling import --config " + cfg +
                            " --plan E2E-1 --batch AB20240003 --file " + file);
    CHECK(outsider.rc != 0);
    CHECK_THAT(outsider.out, Catch::Contains("not in the plan's sample"));
    write({"1230001008100035600002", "1230001008100035600014"});
    Run ok = Meterctl("sampling import --config " + cfg +
                      " --plan E2E-1 --batch AB20240003 --file " + file);
    INFO(ok.out);
    CHECK(ok.rc == 0);
    Run again = Meterctl("sampling import --config " + cfg +
                         " --plan E2E-1 --batch AB20240003 --file " + file);
    CHECK(again.rc != 0);
    CHECK_THAT(again.out, Catch::Contains("already imported"));
    Run overview_cmd = Meterctl("supervision overview --node " +
                                cluster.summary().nodes[0].client_address);
    INFO(overview_cmd.out);
    CHECK(overview_cmd.rc == 0);
    CHECK_THAT(overview_cmd.out, Catch::Contains("\"failedBatches\": \"1\""));
    // An institution's upload with one record lacking a key field: that line gets its own result,
    // the rest of the batch is uploaded and judged.
    std::string first_result;
    {
        std::ifstream in(SourceDir() + "/test/data/verification-results.jsonl");
        std::getline(in, first_result);
    }
    const std::string task = R"("veriTaskNo": ")";
    const size_t at = first_result.find(task);
    REQUIRE(at != std::string::npos);
    std::string renewed = first_result;
    renewed.replace(at + task.size(), 16, "1201202412310001");
    std::string keyless = first_result;
    keyless.replace(at, task.size() + 16 + 3, "");  // drops "veriTaskNo": "...",
    const std::string uploads = cluster.dir() + "/results.jsonl";
    {
        std::ofstream out(uploads);
        out << renewed << "\n" << keyless << "\n";
    }
    Run upload = Meterctl("secdata-upload --config " + cluster.ConfigPath(3) +
                          " --type RECORD_VERIFICATION_RESULT --cosign " +
                          cluster.ConfigPath(2) + " --file " + uploads);
    INFO(upload.out);
    CHECK_THAT(upload.out, Catch::Contains("line 2: not submitted: INDEX"));
    CHECK_THAT(upload.out, Catch::Contains("veriTaskNo"));
    CHECK_THAT(upload.out, Catch::Contains("1/1 valid"));
    CHECK(upload.rc != 0);  // not every line made it

    const uint64_t end = cluster.client(kRegulator).GetStatus()->height();
    REQUIRE(cluster.WaitHeight(end, In(20s)));
    auto report3 = AskAll<v1::RecheckReport>(cluster, "Recheck", "E2E-1");
    CHECK(report3.inconsistent_count() == 0);
}

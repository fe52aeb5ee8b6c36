// End-to-end user active calibration (BIZ-1, BIZ-2) on four real meterchaind processes, driven
// by the real `meterctl`: the utility registers two meters, runs the remote error model on the
// example area and submits its results; one request comes back qualified, the other opens a work
// order that is followed on the gRPC stream through every transition to closed.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proto/node.grpc.pb.h"
#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;

namespace {

constexpr int kUtility = 0;
constexpr int kThirdParty = 2;
constexpr int kInstitute = 3;

struct Run {
    int rc = -1;
    std::string out;
};

Run Meterctl(const std::string& args) {
    Run r;
    r.rc = RunCommand(MeterctlPath() + " " + args, &r.out);
    return r;
}

// The value of "orderNo": "..." in a JSON answer.
std::string OrderNo(const std::string& json) {
    const std::string key = "\"orderNo\":\"";
    const auto at = json.find(key);
    if (at == std::string::npos) return "";
    return json.substr(at + key.size(), json.find('"', at + key.size()) - at - key.size());
}

// Reads a WatchWorkOrder stream on its own thread; the test waits on the condition variable.
class Watcher {
public:
    // `stub` must outlive the watcher.
    Watcher(v1::Node::Stub& stub, const std::string& order) {
        v1::WatchWorkOrderRequest req;
        req.set_order_no(order);
        m_reader = stub.WatchWorkOrder(&m_ctx, req);
        m_thread = std::thread([this] {
            v1::WorkOrderEvent event;
            while (m_reader->Read(&event)) {
                std::lock_guard lock(m_mu);
                m_events.push_back(event);
                m_cv.notify_all();
            }
            grpc::Status s = m_reader->Finish();
            std::lock_guard lock(m_mu);
            m_finished = true;
            m_status = s;
            m_cv.notify_all();
        });
    }
    ~Watcher() {
        m_ctx.TryCancel();
        if (m_thread.joinable()) m_thread.join();
    }
    // Waits until `n` events arrived (or the stream ended, or the deadline passed).
    std::vector<v1::WorkOrderEvent> WaitFor(size_t n, Clock::time_point deadline) {
        std::unique_lock lock(m_mu);
        m_cv.wait_until(lock, deadline, [&] { return m_events.size() >= n || m_finished; });
        return m_events;
    }
    bool WaitFinished(Clock::time_point deadline) {
        std::unique_lock lock(m_mu);
        return m_cv.wait_until(lock, deadline, [&] { return m_finished; }) && m_status.ok();
    }

private:
    grpc::ClientContext m_ctx;
    std::unique_ptr<grpc::ClientReader<v1::WorkOrderEvent>> m_reader;
    std::thread m_thread;
    std::mutex m_mu;
    std::condition_variable m_cv;
    std::vector<v1::WorkOrderEvent> m_events;  // guarded by m_mu
    bool m_finished = false;                    // guarded by m_mu
    grpc::Status m_status;                      // guarded by m_mu
};

}  // namespace

TEST_CASE("calibration: a qualified request and a work order followed live to closed",
          "[e2e][calibration]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    auto cfg = [&](int i) { return cluster.ConfigPath(i); };

    // The area's 100 meters in column order are test/data/areas/area-1/meters.jsonl (the first
    // 100 asset records of the sample data); meters 1 (TJ1000001, within tolerance) and 16
    // (TJ1000016, +7.5%) are registered on chain.
    const std::string areas = MC_AREAS_DIR;  // test/data/areas, unpacked in the build tree
    const std::string assets = areas + "/area-1/meters.jsonl";
    const std::string registered = cluster.dir() + "/registered.jsonl";
    {
        std::ifstream in(assets);
        std::ofstream two(registered);
        std::string line;
        for (int i = 0; i < 100 && std::getline(in, line); ++i) {
            if (i == 1 || i == 16) two << line << "\n";
        }
    }
    Run upload = Meterctl("secdata-upload --config " + cfg(kUtility) +
                          " --type RECORD_METER_ASSET --cosign " + cfg(kThirdParty) + " --file " +
                          registered);
    INFO(upload.out << cluster.Problems());
    REQUIRE(upload.rc == 0);
    REQUIRE_THAT(upload.out, Catch::Contains("2/2 valid"));

    Run model = Meterctl("error-model --area " + areas + "/area-1/area.jsonl --class 2 --assets " +
                         assets + " --submit --run-id AREA1-RUN1 --area-id AREA-1 --config " +
                         cfg(kUtility));
    INFO(model.out.substr(0, 2000) << cluster.Problems());
    REQUIRE(model.rc == 0);
    CHECK_THAT(model.out, Catch::Contains("submitted run AREA1-RUN1 (100 meters)"));

    Run qualified = Meterctl("calibration request --config " + cfg(kUtility) +
                             " --asset TJ1000001 --request REQ-E2E-1 --requester 'Zhang San'");
    INFO(qualified.out);
    REQUIRE(qualified.rc == 0);
    CHECK_THAT(qualified.out, Catch::Contains("CALIBRATION_QUALIFIED") &&
                                  Catch::Contains("\"serviceHotline\":\"95598\"") &&
                                  Catch::Contains("\"modelVersion\":\"adaptive-ridge-loss2-v1\""));
    CHECK_FALSE(qualified.out.find("Zhang San") != std::string::npos);

    Run inspect = Meterctl("calibration request --config " + cfg(kUtility) +
                           " --asset TJ1000016 --request REQ-E2E-2");
    INFO(inspect.out);
    REQUIRE(inspect.rc == 0);
    CHECK_THAT(inspect.out, Catch::Contains("CALIBRATION_FURTHER_INSPECTION") &&
                                Catch::Contains("ERROR_OUT_OF_TOLERANCE"));
    const std::string order = OrderNo(inspect.out);
    REQUIRE(order.rfind("CAL-", 0) == 0);

    // The user follows the order through another node than the one that serves the workflow.
    Watcher watch(cluster.client(kThirdParty).stub(), order);
    auto events = watch.WaitFor(1, In(20s));
    REQUIRE(events.size() == 1);
    CHECK(events[0].transition().state() == v1::ORDER_OPENED);

    const struct {
        const char* step;
        int org;
        const char* args;
        v1::WorkOrderState state;
    } steps[] = {
        {"accept", kUtility, "--channel 95598", v1::ORDER_ACCEPTED},
        {"handle", kInstitute, "--handler 'Li Si' --conclusion 不合格 --verifying-unit TJ-MVS",
         v1::ORDER_HANDLED},
        {"evaluate", kUtility, "--satisfaction 满意 --visit-date 2026-12-07", v1::ORDER_EVALUATED},
        {"close", kUtility, "", v1::ORDER_CLOSED},
    };
    size_t expected = 1;
    for (const auto& s : steps) {
        Run r = Meterctl(std::string("calibration ") + s.step + " --config " + cfg(s.org) +
                         " --order " + order + " " + s.args);
        INFO(s.step << ": " << r.out << cluster.Problems());
        REQUIRE(r.rc == 0);
        events = watch.WaitFor(++expected, In(20s));
        REQUIRE(events.size() == expected);
        CHECK(events.back().transition().state() == s.state);
        CHECK(events.back().order().state() == s.state);
    }
    REQUIRE(watch.WaitFinished(In(20s)));  // the stream ends after CLOSED
    CHECK(events.back().order().handler() == "Li Si");
    CHECK(events[2].transition().by() == "institute");

    // A refused role is refused on the real chain too.
    Run refused = Meterctl("calibration accept --config " + cfg(kThirdParty) + " --order " + order);
    CHECK(refused.rc != 0);

    // The CLI replays the committed transitions and ends; the statistics count both requests.
    Run replay = Meterctl("calibration watch " + order + " --node " +
                          cluster.summary().nodes[kInstitute].client_address);
    INFO(replay.out);
    REQUIRE(replay.rc == 0);
    CHECK_THAT(replay.out, Catch::Contains("ORDER_OPENED") && Catch::Contains("ORDER_CLOSED"));
    Run stats = Meterctl("calibration stats --node " +
                         cluster.summary().nodes[kInstitute].client_address);
    INFO(stats.out);
    REQUIRE(stats.rc == 0);
    CHECK_THAT(stats.out, Catch::Contains("\"requests\":\"2\"") &&
                              Catch::Contains("\"qualified\":\"1\"") &&
                              Catch::Contains("\"completed\":\"1\""));

    // Every node executed the same workflow.
    const uint64_t end = cluster.client(kUtility).GetStatus()->height();
    REQUIRE(cluster.WaitHeight(end, In(20s)));
    std::string root;
    for (int i = 0; i < cluster.size(); ++i) {
        auto block = cluster.client(i).GetBlock(end);
        REQUIRE(block.ok());
        const std::string r =
            ToHex(ByteView(block->header.state_root.data(), block->header.state_root.size()));
        if (i == 0) root = r;
        CHECK(r == root);
    }
}

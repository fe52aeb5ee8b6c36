// The HTTP gateway inside real meterchaind processes: the Appendix B record (test/data) goes
// through the normal upload path (meterctl secdata-upload, Validity on every node), then the
// utility's node answers the Appendix B query with the example's fields to an authorised
// organisation, and every bad request with its code in the same envelope. /metrics is parsed
// by the Prometheus client library's text parser.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "node/gateway/auth.h"
#include "test/e2e/cluster_harness.h"
#include "test/support/http_test_client.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;
using meterchain::testing::HttpCall;
using meterchain::testing::HttpConnection;
using meterchain::testing::HttpResult;

namespace {

namespace pb = google::protobuf;

constexpr int kUtility = 0;
constexpr int kThirdParty = 2;
constexpr int kInstitute = 3;
constexpr int kSkip = 77;  // SKIP_RETURN_CODE of this test binary

const std::string kRegulatorToken = "gw-test-regulator-6a1f0c9e2b";
const std::string kThirdPartyToken = "gw-test-third-party-51d07e";
const std::string kGhostToken = "gw-test-unregistered-org-77";
const std::string kQuery =
    R"({"barCode": "1230001008100035618760", "tableCode": "", "veriTaskNo": "1201202412300002"})";

std::string ReadLine(const std::string& relative) {
    std::ifstream in(SourceDir() + "/" + relative);
    std::string line;
    std::getline(in, line);
    return line;
}

pb::Struct ParseObject(const std::string& json) {
    pb::Struct s;
    auto st = pb::util::JsonStringToMessage(json, &s);
    INFO(json);
    REQUIRE(st.ok());
    return s;
}

std::map<std::string, std::string> Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

// Gateway on the utility's node, with tokens for the regulator, the third party and an
// organisation the chain does not know.
void EnableGateway(int i, v1::NodeConfig& c, uint32_t port) {
    if (i != kUtility) return;
    auto* g = c.mutable_gateway();
    g->set_listen("127.0.0.1:" + std::to_string(port));
    g->set_request_timeout_ms(1000);
    g->set_max_connections(16);
    for (const auto& [org, token] : {std::pair{"regulator", kRegulatorToken},
                                     std::pair{"third-party", kThirdPartyToken},
                                     std::pair{"ghost", kGhostToken}}) {
        auto* cred = g->add_credentials();
        cred->set_organisation(org);
        cred->set_token_sm3(gateway::Authenticator::TokenHash(token));
    }
}

void ExpectError(const HttpResult& r, int code, const std::string& msg_part) {
    INFO(r.body << r.error);
    CHECK(r.status == code);
    CHECK(r.body.find("{\"code\":" + std::to_string(code) + ",\"data\":null,\"msg\":\"") == 0);
    CHECK(r.body.find(msg_part) != std::string::npos);
}

}  // namespace

TEST_CASE("gateway: the Appendix B query answers the example's fields and bad requests their codes",
          "[e2e][gateway]") {
    const uint32_t port = FindFreePortRange(1);
    TestCluster cluster(4, [port](int i, v1::NodeConfig& c) { EnableGateway(i, c, port); });
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    const uint16_t gw = static_cast<uint16_t>(port);
    // One cluster for every check below (blocks, not Catch sections, which would rerun it).

    // Not uploaded yet: unknown bar code.
    ExpectError(HttpCall(gw, "POST", "/api/verification/query", kQuery, Bearer(kRegulatorToken)),
                404, "no verification result");

    // The normal upload path: the utility registers the meter, the institute uploads the result.
    std::string out;
    const std::string m = MeterctlPath();
    REQUIRE(RunCommand(m + " secdata-upload --config " + cluster.ConfigPath(kUtility) +
                           " --type RECORD_METER_ASSET --cosign " + cluster.ConfigPath(kThirdParty) +
                           " --file " + SourceDir() + "/test/data/appendix-b-meter.jsonl",
                       &out) == 0);
    INFO(out);
    REQUIRE(out.find("1/1 valid") != std::string::npos);
    out.clear();
    REQUIRE(RunCommand(m + " secdata-upload --config " + cluster.ConfigPath(kInstitute) +
                           " --type RECORD_VERIFICATION_RESULT --cosign " +
                           cluster.ConfigPath(kThirdParty) + " --file " + SourceDir() +
                           "/test/data/appendix-b-result.jsonl",
                       &out) == 0);
    REQUIRE(out.find("1/1 valid") != std::string::npos);
    auto status = cluster.client(kInstitute).GetStatus();
    REQUIRE(status.ok());
    REQUIRE(cluster.WaitHeight(status->height(), In(20s), {kUtility}));

    {  // an authorised organisation gets every field of the example
        auto r = HttpCall(gw, "POST", "/api/verification/query", kQuery, Bearer(kRegulatorToken));
        INFO(r.body << r.error);
        REQUIRE(r.status == 200);
        const pb::Struct envelope = ParseObject(r.body);
        CHECK(envelope.fields().at("code").number_value() == 200);
        CHECK(envelope.fields().at("msg").string_value() == "成功!");
        const pb::Struct& data = envelope.fields().at("data").struct_value();
        const pb::Struct expected = ParseObject(ReadLine("test/data/appendix-b-result.jsonl"));
        std::string diff;
        pb::util::MessageDifferencer d;
        d.ReportDifferencesToString(&diff);
        CHECK(d.Compare(expected, data));
        INFO(diff);
        CHECK(diff.empty());
        // Spot checks against the specification's text.
        CHECK(data.fields().at("DEVIATION_MET_CONC").string_value() == "合格");
        CHECK(data.fields().at("CLOCK_VALUE_CONC_CODE").string_value() == "-");
        CHECK(data.fields().at("wireModeName").string_value() == "单相");
        CHECK(data.fields().at("tableNames").list_value().values_size() == 9);

        // The same answer from the cache, for the third party too.
        auto again = HttpCall(gw, "POST", "/api/verification/query", kQuery, Bearer(kThirdPartyToken));
        CHECK(again.status == 200);
        CHECK(again.body == r.body);
    }

    {  // a tableCode selects one test item
        auto r = HttpCall(gw, "POST", "/api/verification/query",
                          R"({"barCode":"1230001008100035618760","tableCode":"Deviation_Meter_Conc",)"
                          R"("veriTaskNo":"1201202412300002"})",
                          Bearer(kRegulatorToken));
        INFO(r.body);
        REQUIRE(r.status == 200);
        const pb::Struct data = ParseObject(r.body).fields().at("data").struct_value();
        const auto& items = data.fields().at("tableNames").list_value();
        REQUIRE(items.values_size() == 1);
        CHECK(items.values(0).struct_value().fields().at("tableName").string_value() == "标准偏差");
        ExpectError(HttpCall(gw, "POST", "/api/verification/query",
                             R"({"barCode":"1230001008100035618760","tableCode":"NOPE",)"
                             R"("veriTaskNo":"1201202412300002"})",
                             Bearer(kRegulatorToken)),
                    404, "tableCode");
    }

    {  // every bad request is answered with its code in the envelope
        const auto q = [&](const std::string& body) {
            return HttpCall(gw, "POST", "/api/verification/query", body, Bearer(kRegulatorToken));
        };
        // Unauthenticated: no data, whatever the body.
        ExpectError(HttpCall(gw, "POST", "/api/verification/query", kQuery), 401,
                    "authentication required");
        ExpectError(HttpCall(gw, "POST", "/api/verification/query", kQuery, Bearer("wrong")), 401,
                    "unknown API token");
        // An organisation the chain does not know.
        ExpectError(HttpCall(gw, "POST", "/api/verification/query", kQuery, Bearer(kGhostToken)),
                    403, "not registered");
        // Unknown bar code / task.
        ExpectError(q(R"({"barCode":"1230001008100035699999","tableCode":"","veriTaskNo":"1201202412300002"})"),
                    404, "no verification result");
        // Malformed JSON, missing, extra and mistyped fields, bad formats, empty body.
        ExpectError(q(R"({"barCode": "1230001008100035618760",)"), 400, "not the expected JSON");
        ExpectError(q("[1,2,3]"), 400, "not the expected JSON");
        ExpectError(q(R"({"barCode":"1230001008100035618760","tableCode":""})"), 400,
                    "missing field veriTaskNo");
        ExpectError(q(R"({"tableCode":"","veriTaskNo":"1201202412300002"})"), 400,
                    "missing field barCode");
        ExpectError(q(R"({"barCode":"1230001008100035618760","tableCode":"","veriTaskNo":"1201202412300002","x":1})"),
                    400, "not the expected JSON");
        ExpectError(q(R"({"barCode":1230001008100035618760,"tableCode":"","veriTaskNo":"1201202412300002"})"),
                    400, "not the expected JSON");
        ExpectError(q(R"({"barCode":"123","tableCode":"","veriTaskNo":"1201202412300002"})"), 400,
                    "barCode must be 22 digits");
        ExpectError(q(""), 400, "empty body");
        // Size limit (default 8 KiB).
        ExpectError(q(std::string(9000, ' ') + kQuery), 413, "larger than 8192");
        // Wrong method and path.
        ExpectError(HttpCall(gw, "GET", "/api/verification/query", "", Bearer(kRegulatorToken)), 405,
                    "not allowed");
        ExpectError(HttpCall(gw, "POST", "/api/verification/other", kQuery, Bearer(kRegulatorToken)),
                    404, "no such path");
        // A slow client: headers, then silence (request_timeout_ms = 1000).
        HttpConnection slow(gw);
        REQUIRE(slow.connected());
        auto timed_out = slow.Raw("POST /api/verification/query HTTP/1.1\r\nHost: x\r\n"
                                  "Authorization: Bearer " + kRegulatorToken +
                                  "\r\nContent-Length: 90\r\n\r\n{\"barCode\"");
        ExpectError(timed_out, 408, "not complete within 1000 ms");
        // Many connections: 16 are served, the 17th gets 503. First wait until the server has
        // seen the earlier calls' connections close (its own gauge; the asking connection is 1).
        const auto idle_by = Clock::now() + 10s;
        while (Clock::now() < idle_by &&
               HttpCall(gw, "GET", "/metrics").body.find("meterchain_gateway_open_connections 1\n") ==
                   std::string::npos) {
        }
        std::vector<std::unique_ptr<HttpConnection>> held;
        for (int i = 0; i < 16; ++i) {
            held.push_back(std::make_unique<HttpConnection>(gw));
            REQUIRE(held.back()->Call("GET", "/healthz").status == 200);
        }
        HttpConnection extra(gw);
        REQUIRE(extra.connected());
        ExpectError(extra.Raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 503,
                    "too many open connections");
        held.clear();
        // The node is still up and answering.
        auto alive = cluster.client(kUtility).GetStatus();
        CHECK(alive.ok());
    }

    {  // health and readiness
        auto h = HttpCall(gw, "GET", "/healthz");
        CHECK(h.status == 200);
        CHECK(h.body.find("\"status\":\"alive\"") != std::string::npos);
        auto ready = HttpCall(gw, "GET", "/readyz");
        INFO(ready.body);
        CHECK(ready.status == 200);
        CHECK(ready.body.find("\"ready\":true") != std::string::npos);
    }
}

TEST_CASE("gateway: /metrics parses with the Prometheus text-format parser", "[e2e][gateway]") {
    std::string probe;
    if (RunCommand("/usr/bin/python3 -c 'import prometheus_client.parser'", &probe) != 0) {
        std::printf("SKIPPED: python3 with prometheus_client is missing (Debian package "
                    "python3-prometheus-client; scripts/setup.sh installs it): %s\n",
                    probe.c_str());
        std::fflush(stdout);
        std::_Exit(kSkip);
    }
    const uint32_t port = FindFreePortRange(1);
    TestCluster cluster(1, [port](int i, v1::NodeConfig& c) { EnableGateway(i, c, port); });
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    const uint16_t gw = static_cast<uint16_t>(port);
    HttpCall(gw, "GET", "/nowhere");  // so that a labelled counter has a sample
    auto r = HttpCall(gw, "GET", "/metrics");
    REQUIRE(r.status == 200);
    CHECK(r.headers["Content-Type"].find("text/plain; version=0.0.4") == 0);
    const std::string file = cluster.dir() + "/metrics.txt";
    std::ofstream(file) << r.body;
    const std::string script =
        "import sys\n"
        "from prometheus_client.parser import text_string_to_metric_families as parse\n"
        "fams = {f.name: f for f in parse(open(sys.argv[1]).read())}\n"
        "need = ['meterchain_height', 'meterchain_view', 'meterchain_view_changes',\n"
        "        'meterchain_committed_transactions', 'meterchain_mempool_transactions',\n"
        "        'meterchain_peers_connected', 'meterchain_round_latency_seconds',\n"
        "        'meterchain_signature_verifications', 'meterchain_gateway_responses']\n"
        "missing = [n for n in need if n not in fams]\n"
        "assert not missing, missing\n"
        "assert fams['meterchain_round_latency_seconds'].type == 'histogram'\n"
        "assert fams['meterchain_committed_transactions'].type == 'counter'\n"
        "print('parsed', len(fams), 'families')\n";
    std::ofstream(cluster.dir() + "/check.py") << script;
    std::string out;
    const int rc = RunCommand("/usr/bin/python3 " + cluster.dir() + "/check.py " + file, &out);
    INFO(out << "\n" << r.body);
    CHECK(rc == 0);
    CHECK(out.find("parsed") != std::string::npos);
}

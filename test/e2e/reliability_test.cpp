// End-to-end tests of the node's limits and of the faults it must refuse clearly: bad client
// input, many parked client calls, another validator's data dir or TLS key, a full disk, and a
// load tool that fails over.
#include <catch2/catch.hpp>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "node/base/codec.h"
#include "node/chain/proto_adapter.h"
#include "node/config/config.h"
#include "node/config/files.h"
#include "node/storage/kv_store.h"
#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

// The threads of a process (/proc/<pid>/status), or -1.
int ThreadCount(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
    }
    return -1;
}

// Calls `method` of service Node with raw request bytes; the status the node answers.
grpc::Status RawCall(const std::string& address, const std::string& method,
                     const std::string& request_bytes) {
    auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 10s);
    grpc::Slice slice(request_bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    stub.UnaryCall(&context, "/meterchain.v1.Node/" + method, grpc::StubOptions(), &request,
                   &response, [&](grpc::Status s) {
                       std::lock_guard lock(mutex);
                       status = std::move(s);
                       done = true;
                       cv.notify_all();
                   });
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return done; });
    return status;
}

// Writes `config` as JSON next to the cluster's files and returns the path.
std::string WriteConfig(const TestCluster& cluster, const v1::NodeConfig& config,
                        const std::string& name) {
    std::string json;
    REQUIRE(google::protobuf::util::MessageToJsonString(config, &json).ok());
    const std::string path = cluster.dir() + "/" + name;
    REQUIRE(config::WritePublicFile(path, json).ok());
    return path;
}

}  // namespace

TEST_CASE("the client API answers malformed protobuf with INVALID_ARGUMENT and quotes little of "
          "a client's input",
          "[e2e]") {
    TestCluster cluster(1);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    const std::string address = cluster.summary().nodes[0].client_address;
    // A field tag with a truncated length-delimited value: not a SubmitRequest.
    const std::string garbage("\x0a\xff\xff\xff\x0f", 5);
    for (const std::string method : {"SubmitTransaction", "SubmitTransactions", "GetTransaction",
                                     "WaitForCommit", "GetBlock", "Query", "GetTxProof"}) {
        const grpc::Status s = RawCall(address, method, garbage);
        INFO(method << ": " << s.error_code() << " " << s.error_message());
        CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK_THAT(s.error_message(), Contains("malformed request"));
    }
    // A 100 KB contract name comes back as its first 64 bytes and its length.
    const std::string long_name(100000, 'x');
    auto answer = cluster.client(0).Query(long_name, "get", {});
    REQUIRE_FALSE(answer.ok());
    CHECK(answer.status().code() == StatusCode::kNotFound);
    CHECK(answer.status().message().size() < 200);
    CHECK_THAT(answer.status().message(), Contains("(100000 bytes)"));
    auto method = cluster.client(0).Query("state", long_name, {});
    REQUIRE_FALSE(method.ok());
    CHECK(method.status().message().size() < 200);
    REQUIRE(cluster.Terminate(0));
}

TEST_CASE("parked WaitForCommit calls and block streams hold no thread each, and a stream from "
          "far beyond the tip is refused",
          "[e2e]") {
    TestCluster cluster(1);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    auto& node = cluster.client(0);
    const int threads_idle = ThreadCount(cluster.Pid(0));
    REQUIRE(threads_idle > 0);

    constexpr int kWaiters = 2000;
    constexpr int kStreams = 200;
    grpc::CompletionQueue cq;
    struct Call {
        grpc::ClientContext context;
        v1::TxStatus status;
        grpc::Status result;
        std::unique_ptr<grpc::ClientAsyncResponseReader<v1::TxStatus>> reader;
    };
    struct Stream {
        grpc::ClientContext context;
        v1::BlockSummary summary;
        std::unique_ptr<grpc::ClientAsyncReader<v1::BlockSummary>> reader;
        bool started = false;
    };
    std::vector<std::unique_ptr<Call>> calls;
    std::vector<std::unique_ptr<Stream>> streams;
    std::mt19937_64 rng(7);
    for (int i = 0; i < kWaiters; ++i) {
        auto call = std::make_unique<Call>();
        v1::TxQuery query;
        std::string hash(32, '\0');
        for (auto& c : hash) c = static_cast<char>(rng());
        query.set_tx_hash(hash);
        query.set_timeout_ms(60000);
        call->context.set_deadline(std::chrono::system_clock::now() + 90s);
        call->reader = node.stub().AsyncWaitForCommit(&call->context, query, &cq);
        call->reader->Finish(&call->status, &call->result, call.get());
        calls.push_back(std::move(call));
    }
    auto status = node.GetStatus();
    REQUIRE(status.ok());
    v1::StreamBlocksRequest from;
    from.set_from_height(status->height() + 1);
    for (int i = 0; i < kStreams; ++i) {
        auto stream = std::make_unique<Stream>();
        stream->context.set_deadline(std::chrono::system_clock::now() + 90s);
        stream->reader = node.stub().AsyncStreamCommits(&stream->context, from, &cq,
                                                        reinterpret_cast<char*>(stream.get()) + 1);
        streams.push_back(std::move(stream));
    }
    // Every call is parked on the node (its own count), then its threads are counted.
    bool parked = false;
    const auto deadline = In(60s);
    while (!parked && Clock::now() < deadline) {
        auto st = node.GetStatus();
        parked = st.ok() && st->client_waiters() == kWaiters && st->client_streams() == kStreams;
    }
    REQUIRE(parked);
    const int threads_loaded = ThreadCount(cluster.Pid(0));
    INFO("threads idle " << threads_idle << ", with " << kWaiters << " waiters and " << kStreams
                         << " streams " << threads_loaded);
    CHECK(threads_loaded < threads_idle + 50);

    // A commit wakes every stream with the new block.
    crypto::Sm2Signer signer(crypto::Sm2PrivateKey::Generate());
    auto tx = client::MakeStatePut(signer, cluster.chain_id(), 1, "k", AsBytes("v"));
    REQUIRE(node.Submit(tx).ok());
    int delivered = 0;
    void* tag = nullptr;
    bool ok = false;
    while (delivered < kStreams && cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + 30s) ==
                                       grpc::CompletionQueue::GOT_EVENT) {
        const auto bits = reinterpret_cast<uintptr_t>(tag);
        if ((bits & 1) == 0) continue;  // a waiter's answer: none is due yet
        auto* stream = reinterpret_cast<Stream*>(bits - 1);
        REQUIRE(ok);
        if (!stream->started) {
            stream->started = true;
            stream->reader->Read(&stream->summary, tag);
            continue;
        }
        auto header = chain::FromProto(stream->summary.header());
        REQUIRE(header.ok());
        CHECK(header->height == from.from_height());
        ++delivered;
    }
    CHECK(delivered == kStreams);

    // A stream that asks for a height far beyond the tip is told so at once.
    grpc::ClientContext far_context;
    far_context.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::StreamBlocksRequest far;
    far.set_from_height(1000000);
    auto far_reader = node.stub().StreamBlocks(&far_context, far);
    v1::Block block;
    CHECK_FALSE(far_reader->Read(&block));
    const grpc::Status far_status = far_reader->Finish();
    CHECK(far_status.error_code() == grpc::StatusCode::OUT_OF_RANGE);
    CHECK_THAT(far_status.error_message(), Contains("beyond the tip"));

    for (auto& call : calls) call->context.TryCancel();
    for (auto& stream : streams) stream->context.TryCancel();
    REQUIRE(cluster.Terminate(0));
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
}

TEST_CASE("a validator refuses another validator's data dir and a TLS key that is not its "
          "certificate's",
          "[e2e]") {
    TestCluster cluster(4);
    cluster.Start(1);  // records itself as the owner of its data dir
    REQUIRE(cluster.WaitUp(1, In(20s)));
    REQUIRE(cluster.Terminate(1));

    auto node0 = config::LoadNodeConfig(cluster.ConfigPath(0));
    auto node1 = config::LoadNodeConfig(cluster.ConfigPath(1));
    REQUIRE(node0.ok());
    REQUIRE(node1.ok());
    v1::NodeConfig borrowed = *node0;
    borrowed.set_data_dir(node1->data_dir());
    std::string output;
    int code = RunCommand(MeterchaindPath() + " --config " +
                              WriteConfig(cluster, borrowed, "borrowed-data-dir.json"),
                          &output);
    INFO(output);
    CHECK(code == 1);
    CHECK_THAT(output, Contains("belongs to validator '" + node1->name() + "', this node is '" +
                                node0->name() + "'"));

    v1::NodeConfig wrong_key = *node0;
    wrong_key.mutable_tls()->set_key_file(node1->tls().key_file());
    output.clear();
    code = RunCommand(MeterchaindPath() + " --config " +
                          WriteConfig(cluster, wrong_key, "wrong-tls-key.json"),
                      &output);
    INFO(output);
    CHECK(code == 1);
    CHECK_THAT(output, Contains("is not the key of the certificate"));

    v1::NodeConfig wrong_pair = *node0;
    wrong_pair.mutable_tls()->set_key_file(node1->tls().key_file());
    wrong_pair.mutable_tls()->set_cert_file(node1->tls().cert_file());
    output.clear();
    code = RunCommand(MeterchaindPath() + " --config " +
                          WriteConfig(cluster, wrong_pair, "wrong-tls-pair.json"),
                      &output);
    INFO(output);
    CHECK(code == 1);
    CHECK_THAT(output, Contains("is issued to '" + node1->name() + "', but this node is '" +
                                node0->name() + "'"));

    // Its own data dir still opens.
    cluster.Start(1);
    REQUIRE(cluster.WaitUp(1, In(20s)));
    REQUIRE(cluster.Terminate(1));
}

TEST_CASE("a full disk stops the node with exit code 3 and loses no committed transaction",
          "[e2e]") {
    TestCluster cluster(1);
    // Writes beyond 1 MiB in any file fail (EFBIG), as on a full disk: LevelDB's log reaches
    // that long before its 4 MiB write buffer is flushed.
    cluster.StartWithFileSizeLimit(0, 1u << 20);
    REQUIRE(cluster.WaitUp(0, In(20s)));
    crypto::Sm2Signer signer(crypto::Sm2PrivateKey::Generate());
    const std::string value(2000, 'v');
    std::vector<Hash256> committed;
    uint64_t nonce = 0;
    bool failed = false;
    while (!failed && nonce < 5000) {
        std::vector<chain::Transaction> txs;
        for (int k = 0; k < 20; ++k) {
            ++nonce;
            txs.push_back(client::MakeStatePut(signer, cluster.chain_id(), nonce,
                                               "fill/" + std::to_string(nonce), AsBytes(value)));
        }
        std::vector<const chain::Transaction*> batch;
        for (const auto& tx : txs) batch.push_back(&tx);
        auto results = cluster.client(0).SubmitMany(batch);
        for (const auto& r : results) failed |= !r.ok();
        if (failed) break;
        for (const auto& r : results) {
            auto st = cluster.client(0).WaitForCommit(*r, 10000);
            if (!st.ok() || st->state() != v1::TxStatus::COMMITTED) {
                failed = true;
                break;
            }
            committed.push_back(*r);
        }
    }
    REQUIRE(failed);
    REQUIRE(committed.size() > 0);
    const int code = cluster.WaitExit(0, In(30s));
    INFO(cluster.ReadLog(0));
    CHECK(code == 3);
    CHECK_THAT(cluster.ReadLog(0), Contains("exit_code=3"));

    // With room again the data dir opens, and every transaction reported committed is there.
    cluster.Start(0);
    REQUIRE(cluster.WaitUp(0, In(30s)));
    for (const auto& h : committed) {
        auto st = cluster.client(0).GetTransaction(h);
        REQUIRE(st.ok());
        REQUIRE(st->state() == v1::TxStatus::COMMITTED);
    }
    REQUIRE(cluster.Terminate(0));
}

TEST_CASE("meterctl load retries a failed submission on the next node", "[e2e]") {
    TestCluster cluster(1);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    // The first address has no node behind it.
    const std::string dead = "127.0.0.1:" + std::to_string(FindFreePortRange(1));
    std::string output;
    const int code = RunCommand(MeterctlPath() + " load --count 20 --node " + dead + "," +
                                    cluster.summary().nodes[0].client_address,
                                &output);
    INFO(output);
    CHECK(code == 0);
    CHECK_THAT(output, Contains("20/20 committed"));
    REQUIRE(cluster.Terminate(0));
}

TEST_CASE("a peer on another genesis of the same chain id is refused with both genesis hashes",
          "[e2e]") {
    // Node 1's genesis_time_ms differs: same chain id, another genesis block.
    TestCluster cluster(2, [](int i, v1::NodeConfig& cfg) {
        if (i == 1) cfg.set_genesis_time_ms(cfg.genesis_time_ms() + 1);
    });
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    const std::string name1 = cluster.summary().nodes[1].identity.name;
    INFO(cluster.Problems());
    CHECK(cluster.WaitForLog(0, "peer " + name1 + " is on genesis ", In(20s)));
    CHECK(cluster.WaitForLog(1, "we are on", In(20s)));
    REQUIRE(cluster.Terminate(0));
    REQUIRE(cluster.Terminate(1));
}

TEST_CASE("a store whose LevelDB log was cut short says how many committed blocks it lost and "
          "fetches them again",
          "[e2e]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    crypto::Sm2Signer signer(crypto::Sm2PrivateKey::Generate());
    uint64_t nonce = 0;
    auto put = [&] {
        ++nonce;
        auto tx = client::MakeStatePut(signer, cluster.chain_id(), nonce,
                                       "cut/" + std::to_string(nonce), AsBytes("v"));
        auto hash = cluster.client(0).Submit(tx);
        REQUIRE(hash.ok());
        auto st = cluster.client(0).WaitForCommit(*hash, 20000);
        REQUIRE(st.ok());
        REQUIRE(st->state() == v1::TxStatus::COMMITTED);
        return st->height();
    };
    uint64_t height = 0;
    for (int i = 0; i < 12; ++i) height = put();
    REQUIRE(cluster.WaitHeight(height, In(20s), {3}));
    cluster.Kill(3);

    // Cut node 3's newest LevelDB log to half its length: LevelDB reopens at an older tip.
    auto cfg = config::LoadNodeConfig(cluster.ConfigPath(3));
    REQUIRE(cfg.ok());
    std::filesystem::path newest;
    for (const auto& entry : std::filesystem::directory_iterator(cfg->data_dir() + "/chain")) {
        if (entry.path().extension() == ".log" && entry.path().filename() > newest.filename()) {
            newest = entry.path();
        }
    }
    REQUIRE_FALSE(newest.empty());
    const auto size = std::filesystem::file_size(newest);
    std::filesystem::resize_file(newest, size / 2);

    cluster.Start(3);
    INFO(cluster.ReadLog(3));
    REQUIRE(cluster.WaitForLog(3, "the store lost committed blocks", In(30s)));
    for (int i = 0; i < 3; ++i) height = put();
    REQUIRE(cluster.WaitForLog(3, "re-fetched the committed blocks the store had lost", In(60s)));
    REQUIRE(cluster.WaitHeight(height, In(30s), {3}));
    for (int i = 0; i < 4; ++i) REQUIRE(cluster.Terminate(i));
}

TEST_CASE("a corrupt historical block is logged, fetched from a peer and repaired", "[e2e]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    crypto::Sm2Signer signer(crypto::Sm2PrivateKey::Generate());
    // More blocks than the store checks when it opens (the last 64): an old block's damage is
    // found only when it is read.
    uint64_t height = 0;
    for (uint64_t nonce = 1; nonce <= 70; ++nonce) {
        auto tx = client::MakeStatePut(signer, cluster.chain_id(), nonce,
                                       "old/" + std::to_string(nonce), AsBytes("v"));
        auto hash = cluster.client(0).Submit(tx);
        REQUIRE(hash.ok());
        auto st = cluster.client(0).WaitForCommit(*hash, 20000);
        REQUIRE(st.ok());
        REQUIRE(st->state() == v1::TxStatus::COMMITTED);
        height = st->height();
    }
    REQUIRE(height > 66);
    REQUIRE(cluster.WaitHeight(height, In(30s), {3}));
    cluster.Kill(3);
    {
        // Block 2 of node 3 becomes bytes that do not parse.
        auto cfg = config::LoadNodeConfig(cluster.ConfigPath(3));
        REQUIRE(cfg.ok());
        auto kv = storage::OpenLevelDb(cfg->data_dir() + "/chain");
        REQUIRE(kv.ok());
        storage::KvBatch batch;
        batch.Put("b" + ToString(codec::EncodeU64(2)), Bytes{0xde, 0xad, 0xbe, 0xef});
        REQUIRE((*kv)->Write(batch, true).ok());
    }
    cluster.Start(3);
    REQUIRE(cluster.WaitUp(3, In(20s)));
    auto damaged = cluster.client(3).GetBlock(2);
    REQUIRE_FALSE(damaged.ok());
    CHECK_THAT(damaged.status().message(), Contains("fetching it again from its peers"));
    INFO(cluster.ReadLog(3));
    REQUIRE(cluster.WaitForLog(3, "stored block is corrupt; fetching it from peers", In(10s)));
    REQUIRE(cluster.WaitForLog(3, "repaired a corrupt stored block from a peer", In(30s)));
    auto repaired = cluster.client(3).GetBlock(2);
    REQUIRE(repaired.ok());
    auto original = cluster.client(0).GetBlock(2);
    REQUIRE(original.ok());
    CHECK(*repaired == *original);
    for (int i = 0; i < 4; ++i) REQUIRE(cluster.Terminate(i));
}

// meterctl replay and export on a chain made by four real meterchaind processes: the untouched
// chain replays (also from a running node, through a copy), and copies of its data dir damaged
// through LevelDB fail at the right height with the right check named.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "node/audit/chain_reader.h"
#include "node/chain/proto_adapter.h"
#include "node/config/config.h"
#include "node/storage/kv_store.h"
#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using audit::ChainReader;

namespace {

struct Sender {
    crypto::Sm2Signer signer{crypto::Sm2PrivateKey::Generate()};
    uint64_t nonce = 0;
};

// A copy of a stopped node's data dir, removed at scope end.
class DataDirCopy {
public:
    DataDirCopy(const std::string& data_dir, const std::string& name) {
        m_path = fs::temp_directory_path() /
                 ("mc_audit_e2e_" + std::to_string(::getpid()) + "_" + name);
        fs::remove_all(m_path);
        fs::create_directories(m_path);
        fs::copy(fs::path(data_dir) / "chain", m_path / "chain", fs::copy_options::recursive);
    }
    ~DataDirCopy() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    std::string path() const { return m_path.string(); }
    // Opens the copy's LevelDB for tampering (closed when the returned store is destroyed).
    std::unique_ptr<storage::KvStore> Open() const {
        auto kv = storage::OpenLevelDb((m_path / "chain").string());
        REQUIRE(kv.ok());
        return std::move(*kv);
    }

private:
    fs::path m_path;
};

chain::Block ReadBlock(const storage::KvStore& kv, uint64_t h) {
    auto bytes = ChainReader(kv).BlockBytes(h);
    REQUIRE(bytes.ok());
    REQUIRE(bytes->has_value());
    auto b = chain::ParseBlock(**bytes);
    REQUIRE(b.ok());
    return *b;
}

void Put(storage::KvStore& kv, const std::string& key, const Bytes& value) {
    storage::KvBatch batch;
    batch.Put(key, value);
    REQUIRE(kv.Write(batch, true).ok());
}

struct Outcome {
    int rc = -1;
    std::string out;
};

Outcome Replay(const std::string& config, const std::string& data_dir) {
    Outcome o;
    o.rc = RunCommand(MeterctlPath() + " replay --json --config " + config + " --data-dir " +
                          data_dir,
                      &o.out);
    return o;
}

// The replay failed with exit code 3 naming `check` at `height`.
void RequireFailure(const Outcome& o, const std::string& check, uint64_t height) {
    INFO(o.out);
    REQUIRE(o.rc == 3);
    CHECK_THAT(o.out, Catch::Contains("\"result\":\"mismatch\""));
    CHECK_THAT(o.out, Catch::Contains("\"mismatch\":{\"height\":" + std::to_string(height) +
                                      ",\"check\":\"" + check + "\""));
}

}  // namespace

TEST_CASE("replay verifies a chain made by four processes and names the damage done to "
          "copies of it",
          "[e2e][audit]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));

    // Validity uploads (contracts, the chain validation key, result sets) and plain writes.
    std::string out;
    int rc = RunCommand(MeterctlPath() + " demo --dir " + cluster.dir() + " --data " +
                            SourceDir() + "/test/data --records 20",
                        &out);
    INFO(out);
    REQUIRE(rc == 0);
    std::vector<Sender> senders(4);
    std::vector<Hash256> hashes;
    for (int k = 0; k < 120; ++k) {
        Sender& s = senders[static_cast<size_t>(k) % senders.size()];
        auto tx = client::MakeStatePut(s.signer, cluster.chain_id(), ++s.nonce,
                                       "audit/" + std::to_string(k),
                                       AsBytes("reading " + std::to_string(k)));
        auto hash = cluster.client(k % 4).Submit(tx);
        REQUIRE(hash.ok());
        hashes.push_back(*hash);
    }
    for (const auto& h : hashes) {
        auto st = cluster.client(0).WaitForCommit(h, 30000);
        REQUIRE(st.ok());
        REQUIRE(st->state() == v1::TxStatus::COMMITTED);
    }

    const std::string config = cluster.ConfigPath(0);
    auto node_config = config::LoadNodeConfig(config);
    REQUIRE(node_config.ok());
    const std::string data_dir = node_config->data_dir();

    // A running node holds its database's lock: replay reads a copy and says so.
    Outcome live = Replay(config, data_dir);
    INFO(live.out);
    REQUIRE(live.rc == 0);
    CHECK_THAT(live.out, Catch::Contains("locked by a running node"));
    CHECK_THAT(live.out, Catch::Contains("\"result\":\"ok\""));

    for (int i = 0; i < cluster.size(); ++i) REQUIRE(cluster.Terminate(i));

    // The stopped node's own data dir, found through node.json beside it.
    Outcome whole;
    whole.rc = RunCommand(MeterctlPath() + " replay --data-dir " + data_dir, &whole.out);
    INFO(whole.out);
    REQUIRE(whole.rc == 0);
    CHECK_THAT(whole.out, Catch::Contains("OK: blocks 0.."));
    CHECK_THAT(whole.out, Catch::Contains("stored state match"));

    uint64_t tip = 0;
    uint64_t with_txs = 0;  // a block with transactions in the middle of the chain
    uint64_t put_height = 0;
    {
        auto kv = storage::OpenLevelDb(data_dir + "/chain");
        REQUIRE(kv.ok());
        ChainReader reader(**kv);
        auto t = reader.Tip();
        REQUIRE(t.ok());
        REQUIRE(t->has_value());
        tip = (*t)->height;
        auto rec = reader.TxRecord(hashes[60]);
        REQUIRE(rec.ok());
        REQUIRE(rec->has_value());
        put_height = (*rec)->height;
        with_txs = put_height;
    }
    REQUIRE(tip >= 6);
    REQUIRE(with_txs >= 2);
    REQUIRE(with_txs < tip);

    {  // one flipped byte in a stored transaction
        DataDirCopy copy(data_dir, "flip");
        {
            auto kv = copy.Open();
            auto b = ReadBlock(*kv, with_txs);
            b.transactions[0].body[b.transactions[0].body.size() / 2] ^= 0x08;
            b.transactions[0].memo = {};
            Put(*kv, ChainReader::BlockKey(with_txs), chain::SerializeBlock(b));
        }
        const Outcome o = Replay(config, copy.path());
        RequireFailure(o, "tx-root", with_txs);
        CHECK_THAT(o.out, Catch::Contains("\"tx_index\":0"));
    }
    {  // a removed commit signature
        DataDirCopy copy(data_dir, "cert");
        {
            auto kv = copy.Open();
            auto b = ReadBlock(*kv, with_txs);
            // A quorum of 4 validators is 3: with a signature removed (two if all four
            // signed) the certificate falls short.
            while (b.certificate.signatures.size() >= 3) b.certificate.signatures.pop_back();
            Put(*kv, ChainReader::BlockKey(with_txs), chain::SerializeBlock(b));
        }
        const Outcome o = Replay(config, copy.path());
        RequireFailure(o, "certificate", with_txs);
        CHECK_THAT(o.out, Catch::Contains("2 of 3 required commit signatures"));
    }
    {  // a changed state value
        DataDirCopy copy(data_dir, "state");
        {
            auto kv = copy.Open();
            Put(*kv, ChainReader::StateKey("kv/audit/60"), ToBytes("reading 6000"));
        }
        const Outcome o = Replay(config, copy.path());
        RequireFailure(o, "stored-state", put_height);
        CHECK_THAT(o.out, Catch::Contains("kv/audit/60"));
        CHECK_THAT(o.out, Catch::Contains("\\\"reading 6000\\\""));
    }
    {  // a swapped block
        DataDirCopy copy(data_dir, "swap");
        {
            auto kv = copy.Open();
            const auto a = ReadBlock(*kv, with_txs);
            const auto b = ReadBlock(*kv, with_txs + 1);
            Put(*kv, ChainReader::BlockKey(with_txs), chain::SerializeBlock(b));
            Put(*kv, ChainReader::BlockKey(with_txs + 1), chain::SerializeBlock(a));
        }
        RequireFailure(Replay(config, copy.path()), "block-height", with_txs);
    }
    {  // a truncated chain
        DataDirCopy copy(data_dir, "truncate");
        const uint64_t cut = tip - 2;
        {
            auto kv = copy.Open();
            storage::KvBatch batch;
            for (uint64_t h = cut; h <= tip; ++h) batch.Delete(ChainReader::BlockKey(h));
            REQUIRE(kv->Write(batch, true).ok());
        }
        RequireFailure(Replay(config, copy.path()), "block-record", cut);
    }
    {  // export writes decoded blocks, transactions and Validity result sets
        const std::string file = (fs::temp_directory_path() /
                                  ("mc_audit_e2e_export_" + std::to_string(::getpid()))).string();
        Outcome o;
        o.rc = RunCommand(MeterctlPath() + " export --data-dir " + data_dir +
                              " --from 0 --to " + std::to_string(tip) + " --format jsonl --out " +
                              file,
                          &o.out);
        INFO(o.out);
        REQUIRE(o.rc == 0);
        std::ifstream in(file);
        std::stringstream text;
        text << in.rdbuf();
        fs::remove(file);
        const std::string jsonl = text.str();
        CHECK_THAT(jsonl, Catch::Contains("{\"record\":\"block\",\"height\":0,"));
        CHECK_THAT(jsonl, Catch::Contains("\"key\":\"audit/60\""));
        CHECK_THAT(jsonl, Catch::Contains("{\"record\":\"validity_result\""));
        CHECK_THAT(jsonl, Catch::Contains("VR-CONSISTENT"));
        CHECK_THAT(jsonl, Catch::Contains("\"contract\":\"validity\",\"method\":\"Validity\""));

        Outcome csv;
        csv.rc = RunCommand(MeterctlPath() + " export --data-dir " + data_dir +
                                " --from 1 --to 3 --format csv",
                            &csv.out);
        INFO(csv.out);
        REQUIRE(csv.rc == 0);
        CHECK_THAT(csv.out, Catch::Contains("record,height,tx_index,hash,"));
        CHECK_THAT(csv.out, Catch::Contains("\nblock,1,"));

        Outcome bad;
        bad.rc = RunCommand(MeterctlPath() + " export --data-dir " + data_dir + " --to " +
                                std::to_string(tip + 1),
                            &bad.out);
        CHECK(bad.rc == 2);
    }
}

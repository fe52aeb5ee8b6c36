// fuzz_make_corpus: writes the seed corpus of the fuzz targets (test/fuzz/corpus/<target>/)
// from a real chain: the blocks of a running node, their transactions, the consensus
// messages and peer frames those blocks travel in (with the certificates' real signatures),
// codec encodings, the node's configuration and genesis. Nothing secret: a chain holds no
// private key, and a node's config names its key files without their contents.
//
//   fuzz_make_corpus --node 127.0.0.1:13001 --config DIR/node0/node.json --out test/fuzz/corpus
//
// How the committed corpus was made (a local cluster with the demo's contract calls):
//   scripts/cluster.sh up --dir /tmp/corpus-cluster --base-port 13000
//   build/node/tools/meterctl demo --dir /tmp/corpus-cluster --records 6
//   build/node/tools/meterctl load --node 127.0.0.1:13001 --count 30
//   build-fuzz/test/fuzz/fuzz_make_corpus --node 127.0.0.1:13001
//       --config /tmp/corpus-cluster/node0/node.json --out test/fuzz/corpus  (one line)
//   scripts/cluster.sh down --dir /tmp/corpus-cluster
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "consensus/messages.h"
#include "node/base/codec.h"
#include "node/chain/proto_adapter.h"
#include "node/client/client.h"
#include "node/config/config.h"
#include "node/config/files.h"
#include "node/net/wire.h"
#include "proto/chain.pb.h"
#include "proto/node.pb.h"

using namespace meterchain;
namespace fs = std::filesystem;

namespace {

// Inputs larger than this are left out: small seeds fuzz faster.
constexpr size_t kMaxSeedBytes = 16 * 1024;

class Corpus {
public:
    explicit Corpus(fs::path out) : m_out(std::move(out)) {}
    void Add(const std::string& target, const std::string& name, const std::string& bytes) {
        if (bytes.size() > kMaxSeedBytes) return;
        fs::create_directories(m_out / target);
        std::ofstream(m_out / target / name, std::ios::binary) << bytes;
        ++m_written;
    }
    void Add(const std::string& target, const std::string& name, const Bytes& bytes) {
        Add(target, name, ToString(bytes));
    }
    int written() const { return m_written; }

private:
    fs::path m_out;
    int m_written = 0;
};

std::string Arg(int argc, char** argv, const std::string& name) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (argv[i] == "--" + name) return argv[i + 1];
    }
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    const std::string node = Arg(argc, argv, "node");
    const std::string config_path = Arg(argc, argv, "config");
    const std::string out = Arg(argc, argv, "out");
    if (node.empty() || config_path.empty() || out.empty()) {
        std::fprintf(stderr,
                     "usage: fuzz_make_corpus --node ADDR --config NODE.json --out DIR\n"
                     "  writes DIR/<target>/ seeds from the chain of the node at ADDR\n");
        return 2;
    }
    client::Client c(node);
    auto status = c.GetStatus();
    if (!status.ok()) {
        std::fprintf(stderr, "fuzz_make_corpus: %s\n", status.status().ToString().c_str());
        return 1;
    }
    auto config = config::LoadNodeConfig(config_path);
    if (!config.ok()) {
        std::fprintf(stderr, "fuzz_make_corpus: %s\n", config.status().ToString().c_str());
        return 1;
    }
    Corpus corpus{fs::path(out)};
    const std::string chain_id = status->chain_id();

    // Configuration: the node's file as written, and the contracts genesis.
    for (const auto& [path, name] : {std::pair{config_path, std::string("node.json")},
                                     std::pair{config->genesis_file(), std::string("genesis.json")}}) {
        auto text = config::ReadFileToString(path);
        if (text.ok()) corpus.Add("config", name, *text);
    }

    std::vector<chain::Block> blocks;
    for (uint64_t h = 0; h <= status->height(); ++h) {
        auto block = c.GetBlock(h);
        if (block.ok()) blocks.push_back(std::move(*block));
    }
    int txs = 0, calls = 0;
    for (const auto& block : blocks) {
        const std::string h = std::to_string(block.header.height);
        corpus.Add("block", "block-" + h, chain::SerializeBlock(block));
        corpus.Add("block", "header-" + h, block.header.Encode());
        corpus.Add("codec", "header-" + h, std::string(1, '\xff') + ToString(block.header.Encode()));
        for (const auto& tx : block.transactions) {
            if (txs >= 40) break;
            const std::string n = std::to_string(txs++);
            corpus.Add("tx_body", "body-" + n, tx.body);
            corpus.Add("tx_body", "tx-" + n, chain::ToProto(tx).SerializeAsString());
            corpus.Add("codec", "body-" + n, std::string(1, '\x1b') + ToString(tx.body));
            auto body = chain::TxBody::Parse(tx.body);
            if (body.ok() && body->type == static_cast<uint32_t>(chain::TxType::kContractCall) &&
                calls < 30) {
                // The first byte picks the calling organisation (fuzz_contract_call.cpp).
                for (char org = 0; org < 4; ++org) {
                    corpus.Add("contract_call",
                               "call-" + std::to_string(calls) + "-" + std::to_string(org),
                               std::string(1, org) + ToString(body->payload));
                }
                ++calls;
            }
        }
        if (block.header.height == 0 || block.certificate.signatures.empty()) continue;
        if (block.header.height > 12) continue;  // enough message shapes from the first blocks

        // The messages this block travelled in, with the certificate's real signatures.
        const auto& cert = block.certificate;
        chain::Block bare = block;
        bare.certificate = {};
        std::vector<consensus::Message> messages;
        messages.push_back(consensus::PrePrepare{cert.view, block.header.height, bare,
                                                 block.header.proposer,
                                                 cert.signatures.front().signature});
        for (const auto& sig : cert.signatures) {
            messages.push_back(consensus::Vote{consensus::VoteKind::kCommit, cert.view,
                                               block.header.height, block.Hash(), sig.validator,
                                               sig.signature, {}});
        }
        messages.push_back(consensus::Vote{consensus::VoteKind::kPrepare, cert.view,
                                           block.header.height, block.Hash(),
                                           cert.signatures.back().validator,
                                           cert.signatures.back().signature,
                                           cert.signatures.front().signature});
        messages.push_back(consensus::Checkpoint{block.header.height, block.Hash(),
                                                 block.header.state_root,
                                                 cert.signatures.front().validator,
                                                 cert.signatures.front().signature});
        consensus::ViewChange vc;
        vc.new_view = cert.view + 1;
        vc.has_committed = true;
        vc.committed = cert;
        vc.prepared.push_back(consensus::PreparedCert{cert.view, bare, cert.signatures});
        vc.from = cert.signatures.front().validator;
        vc.signature = cert.signatures.front().signature;
        messages.push_back(vc);
        messages.push_back(consensus::NewView{cert.view + 1, {vc}, block.header.proposer,
                                              cert.signatures.back().signature});
        messages.push_back(consensus::BlockRequest{block.header.height, block.header.height + 7,
                                                   cert.signatures.front().validator,
                                                   cert.signatures.front().signature});
        messages.push_back(consensus::BlockResponse{{block}, block.header.proposer});
        for (size_t i = 0; i < messages.size(); ++i) {
            const v1::ConsensusEnvelope envelope = net::ToProto(messages[i]);
            const std::string name = std::string(consensus::MessageName(messages[i])) + "-" + h +
                                     "-" + std::to_string(i);
            corpus.Add("consensus", name, envelope.SerializeAsString());
            v1::PeerFrame frame;
            *frame.mutable_message() = envelope;
            corpus.Add("peer_frame", name, frame.SerializeAsString());
        }
        if (!block.transactions.empty()) {
            v1::PeerFrame frame;
            for (const auto& tx : block.transactions) {
                *frame.mutable_forwarded_txs()->add_transactions() = chain::ToProto(tx);
            }
            corpus.Add("peer_frame", "txs-" + h, frame.SerializeAsString());
            v1::PeerFrame one;
            *one.mutable_forwarded_tx() = chain::ToProto(block.transactions.front());
            corpus.Add("peer_frame", "tx-" + h, one.SerializeAsString());
        }
        v1::PeerFrame hello;
        hello.mutable_hello()->set_chain_id(chain_id);
        hello.mutable_hello()->set_validator(cert.signatures.front().validator);
        hello.mutable_hello()->set_to(block.header.proposer);
        hello.mutable_hello()->set_nonce(ToString(block.Hash()));
        hello.mutable_hello()->set_signature(ToString(cert.signatures.front().signature));
        corpus.Add("peer_frame", "hello-" + h, hello.SerializeAsString());
    }
    std::printf("fuzz_make_corpus: %d seeds from %zu blocks (%d transactions, %d contract "
                "calls) in %s\n",
                corpus.written(), blocks.size(), txs, calls, out.c_str());
    return 0;
}

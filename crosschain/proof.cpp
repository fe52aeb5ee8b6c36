#include "crosschain/proof.h"

#include <cstring>
#include <thread>

#include "crosschain/anchor_tx.h"
#include "node/chain/light_client.h"
#include "node/chain/merkle.h"
#include "node/chain/proto_adapter.h"

namespace meterchain::crosschain {

namespace {

using Clock = std::chrono::steady_clock;

std::string Short(const Hash256& h) { return ToHex(h).substr(0, 16); }

// The committed transaction's inclusion data; waits for it to commit until the deadline.
Result<v1::ProofResponse> TxProof(const client::Client& node, const Hash256& tx_hash,
                                  Clock::time_point deadline) {
    for (;;) {
        auto p = node.GetTxProof(tx_hash);
        if (p.ok() || p.status().code() != StatusCode::kNotFound || Clock::now() >= deadline) {
            return p;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                 Clock::now());
        (void)node.WaitForCommit(tx_hash, static_cast<uint32_t>(
                                              std::max<int64_t>(1, std::min<int64_t>(left.count(), 1000))));
    }
}

// The anchor of `height` of `chain_id` on `upper`, polled until the deadline (anchors are
// batched, so a fresh block needs up to a batch interval).
Result<v1::AnchoredHeader> WaitAnchored(const client::Client& upper, const std::string& chain_id,
                                        uint64_t height, Clock::time_point deadline) {
    for (;;) {
        auto h = QueryAnchoredHeader(upper, chain_id, height);
        if (!h.ok()) return h.status();
        if (h->has_value()) return std::move(**h);
        if (Clock::now() >= deadline) {
            return NotFound("height " + std::to_string(height) + " of " + chain_id +
                            " is not anchored on " + upper.address() + " yet");
        }
        // Poll: the client API has no stream of one contract's state.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

Result<Bytes> EncodedHeader(const v1::BlockHeader& header) {
    auto h = chain::FromProto(header);
    if (!h.ok()) return h.status();
    return h->Encode();
}

}  // namespace

Result<v1::CrossChainProof> BuildProof(const Hash256& tx_hash, const client::Client& lower,
                                       const std::vector<const client::Client*>& uppers,
                                       Clock::time_point deadline) {
    v1::CrossChainProof proof;
    proof.set_format(kProofFormat);
    const client::Client* node = &lower;
    Hash256 item = tx_hash;
    for (size_t level = 0; level <= uppers.size(); ++level) {
        auto status = node->GetStatus();
        if (!status.ok()) return status.status();
        auto p = TxProof(*node, item, deadline);
        if (!p.ok()) {
            return Status(p.status().code(), status->chain_id() + ": transaction " + ToHex(item) +
                                                 ": " + p.status().message());
        }
        v1::ProofLevel* out = proof.add_levels();
        out->set_chain_id(status->chain_id());
        *out->mutable_transaction() = p->transaction();
        *out->mutable_tx_path() = p->proof();
        *out->mutable_certificate() = p->certificate();
        auto first = EncodedHeader(p->header());
        if (!first.ok()) return first.status();
        out->add_headers(ToString(*first));
        if (level == uppers.size()) break;

        // The anchor covering this block on the next chain, and the headers up to its last.
        const client::Client& upper = *uppers[level];
        const uint64_t height = p->header().height();
        auto anchored = WaitAnchored(upper, status->chain_id(), height, deadline);
        if (!anchored.ok()) return anchored.status();
        const v1::AnchorRecord& record = anchored->anchor();
        Hash256 anchor_tx{};
        if (record.tx_hash().size() != anchor_tx.size()) {
            return Internal("anchor record without a transaction hash");
        }
        std::copy(record.tx_hash().begin(), record.tx_hash().end(), anchor_tx.begin());
        auto anchor = upper.GetTxProof(anchor_tx);
        if (!anchor.ok()) return anchor.status();
        auto args = ParseAnchorTx(chain::FromProto(anchor->transaction()));
        if (!args.ok()) return args.status();
        if (height < args->from_height() || height > args->to_height()) {
            return Internal("the anchor found does not cover height " + std::to_string(height));
        }
        for (uint64_t h = height + 1; h <= args->to_height(); ++h) {
            out->add_headers(args->headers(static_cast<int>(h - args->from_height())));
        }
        node = &upper;
        item = anchor_tx;
    }
    return proof;
}

Result<TrustedSets> ParseTrust(const v1::TrustFile& file) {
    TrustedSets out;
    for (int i = 0; i < file.chains_size(); ++i) {
        const auto& c = file.chains(i);
        const std::string where = "chains[" + std::to_string(i) + "] (" + c.chain_id() + ")";
        if (c.chain_id().empty()) return InvalidArgument(where + ": chainId is empty");
        if (c.validators().empty()) return InvalidArgument(where + ": no validators");
        std::vector<chain::Validator> validators;
        for (const auto& v : c.validators()) {
            auto raw = FromHex(v.public_key());
            if (!raw || raw->size() != chain::kPublicKeySize) {
                return InvalidArgument(where + ": validator " + v.name() +
                                       ": publicKey must be 130 hex characters");
            }
            chain::Validator val;
            val.name = v.name();
            val.public_key = std::move(*raw);
            validators.push_back(std::move(val));
        }
        if (!out.chains.emplace(c.chain_id(), chain::ValidatorSet(std::move(validators))).second) {
            return InvalidArgument(where + ": chain listed twice");
        }
    }
    return out;
}

namespace {

class Checker {
public:
    Checker(ProofVerdict& verdict) : m_verdict(verdict) {}
    // Records a step; returns its success.
    bool Step(std::string name, const Status& st, std::string detail) {
        ProofStep s;
        s.name = std::move(name);
        s.ok = st.ok();
        s.detail = st.ok() ? std::move(detail) : st.message();
        m_verdict.steps.push_back(std::move(s));
        return st.ok();
    }

private:
    ProofVerdict& m_verdict;
};

struct Level {
    std::string chain_id;
    chain::Transaction tx;
    std::vector<chain::BlockHeader> headers;
    std::vector<Bytes> encoded;
};

}  // namespace

ProofVerdict VerifyProof(ByteView file, const TrustedSets& trust,
                         const crypto::Verifier& verifier) {
    ProofVerdict verdict;
    Checker check(verdict);
    v1::CrossChainProof proof;
    {
        Status st;
        bool parsed = proof.ParseFromArray(file.data(), static_cast<int>(file.size()));
        if (!parsed) {
            st = InvalidArgument("the file is not a CrossChainProof encoding");
        } else {
            // One content, one encoding: a byte changed anywhere either changes a checked value
            // or makes the encoding non-canonical (unknown field, over-long varint, ...).
            proof.DiscardUnknownFields();
            std::string again;
            proof.SerializeToString(&again);
            if (again.size() != file.size() ||
                std::memcmp(again.data(), file.data(), file.size()) != 0) {
                st = InvalidArgument("the file is not the canonical encoding of its content");
            } else if (proof.format() != kProofFormat) {
                st = InvalidArgument("format is '" + proof.format() + "', not " + kProofFormat);
            } else if (proof.levels().empty()) {
                st = InvalidArgument("the proof has no levels");
            }
        }
        if (!check.Step("format", st,
                        std::string(kProofFormat) + ", " + std::to_string(proof.levels_size()) +
                            " level(s), " + std::to_string(file.size()) + " bytes")) {
            return verdict;
        }
    }

    std::vector<Level> levels;
    for (int i = 0; i < proof.levels_size(); ++i) {
        const v1::ProofLevel& in = proof.levels(i);
        Level lv;
        lv.chain_id = in.chain_id();
        const std::string name = "level " + std::to_string(i) + " (" + lv.chain_id + ") ";

        // 1. The transaction: signed by its sender, meant for this chain.
        lv.tx = chain::FromProto(in.transaction());
        Status st;
        auto body = chain::VerifyTransaction(lv.tx, verifier);
        if (!body.ok()) {
            st = body.status();
        } else if (body->chain_id != lv.chain_id) {
            st = InvalidArgument("the transaction is for chain '" + body->chain_id + "'");
        }
        const Hash256 tx_hash = lv.tx.Hash();
        if (!check.Step(name + "transaction", st,
                        std::string(i == 0 ? "proven transaction " : "anchor transaction ") +
                            ToHex(tx_hash) + ", sender signature valid")) {
            return verdict;
        }
        if (i == 0) verdict.proven_tx = ToHex(tx_hash);

        // 2. The headers: canonical encodings of one chain, linked by prev_hash.
        for (const auto& h : in.headers()) lv.encoded.emplace_back(h.begin(), h.end());
        auto headers = chain::DecodeHeaders(lv.encoded);
        st = headers.ok() ? chain::CheckHeaderChain(*headers, lv.chain_id) : headers.status();
        if (st.ok()) lv.headers = std::move(*headers);
        if (!check.Step(name + "header-chain", st,
                        lv.headers.empty() ? std::string()
                                           : "heights " + std::to_string(lv.headers.front().height) +
                                                 ".." + std::to_string(lv.headers.back().height) +
                                                 " linked by prev_hash")) {
            return verdict;
        }

        // 3. The transaction is in the first block.
        auto path = chain::FromProto(in.tx_path());
        st = path.ok() ? Status::Ok() : path.status();
        if (st.ok() && !chain::VerifyMerkleProof(tx_hash, *path, lv.headers[0].tx_root)) {
            st = InvalidArgument("the Merkle path does not lead to the tx_root of height " +
                                 std::to_string(lv.headers[0].height));
        }
        if (!check.Step(name + "merkle-path", st,
                        path.ok() ? "leaf " + std::to_string(path->leaf_index) + " of " +
                                        std::to_string(path->leaf_count) + " under tx_root " +
                                        Short(lv.headers[0].tx_root) + " of height " +
                                        std::to_string(lv.headers[0].height)
                                  : std::string())) {
            return verdict;
        }

        // 4. The first block is certified by this chain's validators.
        auto set = trust.chains.find(lv.chain_id);
        auto cert = chain::FromProto(in.certificate());
        if (set == trust.chains.end()) {
            st = Unauthenticated("no trusted validator set for chain '" + lv.chain_id + "'");
        } else if (!cert.ok()) {
            st = cert.status();
        } else {
            st = chain::VerifyHeaderCertificate(lv.headers[0], *cert, set->second, verifier);
        }
        if (!check.Step(name + "certificate", st,
                        cert.ok() && set != trust.chains.end()
                            ? std::to_string(cert->signatures.size()) + " of " +
                                  std::to_string(set->second.size()) +
                                  " validators signed height " +
                                  std::to_string(lv.headers[0].height) + " (quorum " +
                                  std::to_string(set->second.Quorum()) + ")"
                            : std::string())) {
            return verdict;
        }

        // 5. Above level 0: the transaction anchors the level below up to its last header.
        if (i > 0) {
            const Level& below = levels.back();
            auto args = ParseAnchorTx(lv.tx);
            st = args.ok() ? Status::Ok() : args.status();
            if (st.ok() && args->source_chain_id() != below.chain_id) {
                st = InvalidArgument("the anchor is of chain '" + args->source_chain_id() +
                                     "', not '" + below.chain_id + "'");
            }
            std::vector<Bytes> anchored;
            if (st.ok()) {
                for (const auto& h : args->headers()) anchored.emplace_back(h.begin(), h.end());
                if (anchored.empty() || anchored.back() != below.encoded.back()) {
                    st = InvalidArgument("the anchor's last header is not level " +
                                         std::to_string(i - 1) + "'s last header");
                }
            }
            auto range = st.ok() ? chain::DecodeHeaders(anchored)
                                 : Result<std::vector<chain::BlockHeader>>(st);
            if (st.ok() && !range.ok()) st = range.status();
            if (st.ok()) st = chain::CheckHeaderChain(*range, below.chain_id);
            if (st.ok() && (below.headers[0].height < range->front().height ||
                            below.headers[0].height > range->back().height)) {
                st = InvalidArgument("the anchor does not cover height " +
                                     std::to_string(below.headers[0].height));
            }
            if (st.ok()) {
                const Hash256 digest = chain::HeaderRangeDigest(below.chain_id, *range);
                if (args->range_digest() != ToString(digest)) {
                    st = InvalidArgument("the anchor's range digest does not match its headers");
                }
            }
            auto below_set = trust.chains.find(below.chain_id);
            if (st.ok()) {
                auto lower_cert = chain::FromProto(args->certificate());
                if (!lower_cert.ok()) {
                    st = lower_cert.status();
                } else {
                    st = chain::VerifyHeaderCertificate(range->back(), *lower_cert,
                                                        below_set->second, verifier);
                }
            }
            if (!check.Step(name + "anchor", st,
                            st.ok() ? "anchors " + below.chain_id + " heights " +
                                          std::to_string(range->front().height) + ".." +
                                          std::to_string(range->back().height) +
                                          ", ending at level " + std::to_string(i - 1) +
                                          "'s last header, certified by " + below.chain_id
                                    : std::string())) {
                return verdict;
            }
        }
        levels.push_back(std::move(lv));
    }
    // The top level has nothing above it: its header list is just the certified block.
    if (levels.back().headers.size() != 1) {
        check.Step("level " + std::to_string(levels.size() - 1) + " header-chain",
                   InvalidArgument("the top level's headers lead to no anchor"), "");
        return verdict;
    }
    verdict.ok = true;
    return verdict;
}

}  // namespace meterchain::crosschain

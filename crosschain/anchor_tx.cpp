#include "crosschain/anchor_tx.h"

#include <algorithm>

#include "node/chain/light_client.h"
#include "node/chain/proto_adapter.h"
#include "proto/chain.pb.h"

namespace meterchain::crosschain {

namespace {

std::string Serialize(const google::protobuf::Message& m) {
    std::string out;
    m.SerializeToString(&out);
    return out;
}

}  // namespace

Result<v1::AnchorArgs> BuildAnchorArgs(const std::string& chain_id,
                                       const std::vector<v1::BlockSummary>& blocks,
                                       uint64_t source_tip) {
    if (blocks.empty()) return InvalidArgument("an anchor needs at least one block");
    v1::AnchorArgs args;
    args.set_source_chain_id(chain_id);
    std::vector<chain::BlockHeader> headers;
    headers.reserve(blocks.size());
    for (const auto& b : blocks) {
        auto parsed = chain::FromProto(b.header());
        if (!parsed.ok()) return parsed.status();
        chain::BlockHeader h = std::move(*parsed);
        if (!headers.empty() && h.height != headers.back().height + 1) {
            return InvalidArgument("blocks are not consecutive at height " +
                                   std::to_string(h.height));
        }
        args.add_headers(ToString(h.Encode()));
        headers.push_back(std::move(h));
    }
    args.set_from_height(headers.front().height);
    args.set_to_height(headers.back().height);
    const Hash256 digest = chain::HeaderRangeDigest(chain_id, headers);
    args.set_range_digest(ToString(digest));
    *args.mutable_certificate() = blocks.back().certificate();
    args.set_source_tip(std::max(source_tip, headers.back().height));
    return args;
}

chain::Transaction SignAnchorTx(const std::string& upper_chain_id, uint64_t nonce,
                                uint64_t timestamp_ms, const v1::AnchorArgs& args,
                                const crypto::Signer& signer) {
    v1::ContractCall call;
    call.set_contract(kAnchorContractName);
    call.set_method(kAnchorMethod);
    call.set_args(Serialize(args));
    chain::TxBody body;
    body.chain_id = upper_chain_id;
    body.type = static_cast<uint32_t>(chain::TxType::kContractCall);
    const std::string payload = Serialize(call);
    body.payload = Bytes(payload.begin(), payload.end());
    body.nonce = nonce;
    body.timestamp_ms = timestamp_ms;
    return chain::SignTransaction(std::move(body), signer);
}

Result<v1::AnchorArgs> ParseAnchorTx(const chain::Transaction& tx) {
    auto body = chain::TxBody::Parse(tx.body);
    if (!body.ok()) return body.status();
    if (body->type != static_cast<uint32_t>(chain::TxType::kContractCall)) {
        return InvalidArgument("not a contract call");
    }
    v1::ContractCall call;
    if (!call.ParseFromArray(body->payload.data(), static_cast<int>(body->payload.size()))) {
        return InvalidArgument("contract call payload does not parse");
    }
    if (call.contract() != kAnchorContractName || call.method() != kAnchorMethod) {
        return InvalidArgument("a call of " + call.contract() + "." + call.method() +
                               ", not anchor.Anchor");
    }
    v1::AnchorArgs args;
    if (!args.ParseFromString(call.args())) return InvalidArgument("Anchor args do not parse");
    return args;
}

Result<std::optional<v1::ChainAnchorStatus>> QueryAnchorStatus(const client::Client& upper,
                                                               const std::string& source_chain_id) {
    v1::AnchorQuery q;
    q.set_chain_id(source_chain_id);
    const std::string args = Serialize(q);
    auto r = upper.Query(kAnchorContractName, "Chain", AsBytes(args));
    if (!r.ok()) {
        if (r.status().code() == StatusCode::kNotFound) {
            return std::optional<v1::ChainAnchorStatus>();
        }
        return r.status();
    }
    v1::ChainAnchorStatus s;
    if (!s.ParseFromArray(r->data(), static_cast<int>(r->size()))) {
        return Internal("anchor status from " + upper.address() + " does not parse");
    }
    return std::optional(std::move(s));
}

Result<std::optional<v1::AnchoredHeader>> QueryAnchoredHeader(const client::Client& upper,
                                                              const std::string& source_chain_id,
                                                              uint64_t height) {
    v1::AnchorQuery q;
    q.set_chain_id(source_chain_id);
    q.set_height(height);
    const std::string args = Serialize(q);
    auto r = upper.Query(kAnchorContractName, "Header", AsBytes(args));
    if (!r.ok()) {
        if (r.status().code() == StatusCode::kNotFound) return std::optional<v1::AnchoredHeader>();
        return r.status();
    }
    v1::AnchoredHeader h;
    if (!h.ParseFromArray(r->data(), static_cast<int>(r->size()))) {
        return Internal("anchored header from " + upper.address() + " does not parse");
    }
    return std::optional(std::move(h));
}

Result<std::vector<v1::AnchorRecord>> QueryAnchors(const client::Client& upper,
                                                   const std::string& source_chain_id,
                                                   uint64_t from_to_height, uint32_t limit) {
    v1::AnchorQuery q;
    q.set_chain_id(source_chain_id);
    q.set_height(from_to_height);
    q.set_limit(limit);
    const std::string args = Serialize(q);
    auto r = upper.Query(kAnchorContractName, "Anchors", AsBytes(args));
    if (!r.ok()) return r.status();
    v1::AnchorRecordList list;
    if (!list.ParseFromArray(r->data(), static_cast<int>(r->size()))) {
        return Internal("anchor list from " + upper.address() + " does not parse");
    }
    return std::vector<v1::AnchorRecord>(list.anchors().begin(), list.anchors().end());
}

std::string AnchorReasonCode(const std::string& message) {
    const size_t colon = message.find(':');
    if (colon == std::string::npos) return "";
    const std::string code = message.substr(0, colon);
    for (char c : code) {
        if (!(c == '_' || (c >= 'A' && c <= 'Z'))) return "";
    }
    return code;
}

}  // namespace meterchain::crosschain

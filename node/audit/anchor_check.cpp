#include "node/audit/anchor_check.h"

#include <cstdio>

#include "contracts/anchor.h"
#include "contracts/common.h"
#include "node/chain/light_client.h"
#include "proto/chain.pb.h"
#include "proto/crosschain.pb.h"

namespace meterchain::audit {

namespace {

// The anchor.Anchor arguments a transaction carries; nullopt for any other transaction.
std::optional<v1::AnchorArgs> AnchorArgsOf(const chain::Transaction& tx) {
    auto body = chain::TxBody::Parse(tx.body);
    if (!body.ok() || body->type != static_cast<uint32_t>(chain::TxType::kContractCall)) {
        return std::nullopt;
    }
    v1::ContractCall call;
    if (!call.ParseFromArray(body->payload.data(), static_cast<int>(body->payload.size())) ||
        call.contract() != contracts::kAnchorContract || call.method() != "Anchor") {
        return std::nullopt;
    }
    v1::AnchorArgs args;
    if (!args.ParseFromString(call.args())) return std::nullopt;
    return args;
}

std::string RangeKey(const std::string& chain_id, uint64_t to) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(to));
    return "anchor/range/" + chain_id + "/" + buf;
}

}  // namespace

std::optional<Mismatch> AnchorCheck::CheckBlock(const chain::Block& block,
                                                const contracts::StateView& state_after) {
    for (size_t i = 0; i < block.transactions.size(); ++i) {
        const chain::Transaction& tx = block.transactions[i];
        auto args = AnchorArgsOf(tx);
        if (!args) continue;
        const Hash256 tx_hash = tx.Hash();
        // Accepted anchors only: their record names this transaction.
        if (!contracts::IsSimpleName(args->source_chain_id())) continue;
        v1::AnchorRecord record;
        auto found = contracts::ReadProto(state_after,
                                          RangeKey(args->source_chain_id(), args->to_height()),
                                          &record);
        if (!found.ok() || !*found || record.tx_hash() != ToString(tx_hash)) continue;

        Mismatch m;
        m.check = Check::kAnchor;
        m.height = block.header.height;
        m.tx_index = static_cast<uint32_t>(i);
        m.tx_hash = tx_hash;
        auto registered = contracts::FindAnchoredChain(state_after, args->source_chain_id());
        if (!registered.ok() || !registered->has_value()) {
            m.detail = "anchor of " + args->source_chain_id() + " accepted without a registration";
            return m;
        }
        std::vector<Bytes> encoded;
        for (const auto& h : args->headers()) encoded.emplace_back(h.begin(), h.end());
        auto headers = chain::DecodeHeaders(encoded);
        Status st = headers.ok() && !headers->empty()
                        ? chain::CheckHeaderChain(*headers, args->source_chain_id())
                        : InvalidArgument("no decodable headers");
        if (st.ok() && args->range_digest() !=
                           ToString(chain::HeaderRangeDigest(args->source_chain_id(), *headers))) {
            st = InvalidArgument("range digest does not match the headers");
        }
        if (st.ok()) {
            std::vector<chain::Validator> validators;
            for (const auto& v : (*registered)->chain().validators()) {
                validators.push_back({v.name(), "", "", FromHex(v.public_key()).value_or(Bytes{}), ""});
            }
            chain::CommitCertificate cert;
            cert.height = args->certificate().height();
            cert.view = args->certificate().view();
            const std::string& hash = args->certificate().block_hash();
            if (hash.size() == cert.block_hash.size()) {
                std::copy(hash.begin(), hash.end(), cert.block_hash.begin());
            }
            for (const auto& s : args->certificate().signatures()) {
                cert.signatures.push_back({s.validator(), Bytes(s.signature().begin(), s.signature().end())});
            }
            st = chain::VerifyHeaderCertificate(headers->back(), cert,
                                                chain::ValidatorSet(std::move(validators)),
                                                m_verifier);
        }
        if (st.ok() && record.last_header() != ToString(encoded.back())) {
            st = InvalidArgument("the stored anchor record holds another last header");
        }
        if (!st.ok()) {
            m.expected = "a certified range of " + args->source_chain_id();
            m.actual = "heights " + std::to_string(args->from_height()) + ".." +
                       std::to_string(args->to_height());
            m.detail = st.message();
            return m;
        }
        ++m_checked;
    }
    return std::nullopt;
}

}  // namespace meterchain::audit

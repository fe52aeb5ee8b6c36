// Shared helpers of the built-in contracts: names, state (de)serialisation of proto values, and
// an overlay StateView for dry runs.
//
// State values are proto messages serialised deterministically. None of the stored messages has
// map fields, so one value has one encoding for a given schema; what is signed never depends on
// it (signatures cover codec encodings, docs/CONTRACTS.md).
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "contracts/contract.h"
#include "node/base/bytes.h"
#include "node/base/status.h"

namespace meterchain::contracts {

inline constexpr std::string_view kGovernanceContract = "governance";
inline constexpr std::string_view kValidityContract = "validity";
inline constexpr std::string_view kSecDataContract = "secdata";

// Upper bounds that keep one call's work bounded.
inline constexpr size_t kMaxRecordsPerBatch = 100000;
inline constexpr size_t kMaxIdLength = 256;

Bytes SerializeProto(const google::protobuf::Message& message);

// Parses `data` into `out`. kInvalidArgument naming `what` when it is not a valid encoding.
Status ParseProto(ByteView data, google::protobuf::Message* out, std::string_view what);

// Reads a proto value. Returns false when the key is absent; kCorruption when the stored bytes
// do not parse (state is written only by contracts, so that is an integrity failure).
Result<bool> ReadProto(const StateView& state, std::string_view key,
                       google::protobuf::Message* out);
void WriteProto(StateView& state, std::string_view key, const google::protobuf::Message& message);

// Lower-case hex of SM3(text): fixed-length, slash-free key component for free-form ids.
std::string DigestHex(std::string_view text);

// Two-digit record type component of a key ("03"), so keys sort by type.
std::string TypeKey(uint32_t type);

// True when every character is printable ASCII except '/' and the length is 1..kMaxIdLength.
bool IsSimpleName(std::string_view name);

// A StateView that buffers writes over a read-only base. Used to dry-run governance actions.
// Not thread-safe; `base` must outlive it.
class OverlayState : public StateView {
public:
    explicit OverlayState(const StateView& base) : m_base(base) {}
    std::optional<Bytes> Get(std::string_view key) const override;
    void Put(std::string_view key, ByteView value) override;
    void Delete(std::string_view key) override;
    void Scan(std::string_view prefix,
              const std::function<bool(std::string_view, ByteView)>& fn) const override;
    // The buffered writes (nullopt = delete), in key order.
    const std::map<std::string, std::optional<Bytes>, std::less<>>& writes() const {
        return m_writes;
    }

private:
    const StateView& m_base;
    std::map<std::string, std::optional<Bytes>, std::less<>> m_writes;
};

}  // namespace meterchain::contracts

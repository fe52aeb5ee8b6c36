// The contract interface the executor (node/) drives, and the registry of built-in contracts.
//
// A contract is deterministic: everything it may depend on comes through CallContext and the
// StateView (docs/CONTRACTS.md). No clock, random source, floating point, unordered iteration or
// I/O inside a contract.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/chain/state.h"

namespace meterchain::contracts {

// Key/value state as one transaction sees it. Keys are UTF-8 strings with a per-contract prefix
// ("<contract>/..."); values are bytes. Implementations: the executor's overlay (node/), and
// MemoryState below for tests. Not thread-safe.
class StateView {
public:
    virtual ~StateView() = default;
    virtual std::optional<Bytes> Get(std::string_view key) const = 0;
    virtual void Put(std::string_view key, ByteView value) = 0;
    virtual void Delete(std::string_view key) = 0;
    // Calls fn(key, value) for every live key starting with `prefix`, in ascending key order,
    // until fn returns false.
    virtual void Scan(std::string_view prefix,
                      const std::function<bool(std::string_view key, ByteView value)>& fn) const = 0;
};

// The chain validation key K as a contract sees it: it can open what uploaders sealed for
// validation, never export K (docs/CONTRACTS.md, "Validation key"). Every validator node holds
// the same K (checked against the genesis key check value at start-up), so Open returns the same
// result on every node and contracts stay deterministic. Implementations are immutable and
// thread-safe; the node owns the one it passes in CallContext.
class ValidationOpener {
public:
    virtual ~ValidationOpener() = default;
    // crypto::Open(K, sealed, aad): kUnauthenticated for another key or altered ciphertext,
    // kInvalidArgument when `sealed` is shorter than iv + tag.
    virtual Result<Bytes> Open(ByteView sealed, ByteView aad) const = 0;
    // ValidationKeyCheck(K) (contracts/validation_key.h), compared with the chain's value.
    virtual const Hash256& KeyCheck() const = 0;
};

// What a call may know about the transaction and block it runs in.
struct CallContext {
    std::string chain_id;
    Bytes sender;  // the transaction signer's raw SM2 public key (65 bytes), signature verified
    Hash256 tx_hash{};
    uint64_t height = 0;
    uint64_t block_timestamp_ms = 0;  // the proposer's timestamp, the same on every node
    uint32_t tx_index = 0;            // position of the transaction in its block
    // The chain validation key; nullptr when this node holds none (then public records are
    // refused with VALIDATION_KEY). Not owned; outlives the call.
    const ValidationOpener* validation = nullptr;
};

class Contract {
public:
    virtual ~Contract() = default;
    // Unique name used in ContractCall.contract and as the state key prefix.
    virtual std::string_view Name() const = 0;
    // Executes one call. On a non-OK status the executor discards every write the call made and
    // records the transaction as failed with the status message; it never aborts the block.
    virtual Status Call(const CallContext& ctx, std::string_view method, ByteView args,
                        StateView& state) = 0;
    // Read-only call against committed state (the client API's Query).
    virtual Result<Bytes> Query(std::string_view method, ByteView args,
                                const StateView& state) const = 0;
};

// The set of contracts a chain runs. Built once at start-up; read-only afterwards, so it may be
// shared between threads.
class Registry {
public:
    Status Register(std::unique_ptr<Contract> contract);
    Contract* Find(std::string_view name) const;

private:
    std::map<std::string, std::unique_ptr<Contract>, std::less<>> m_contracts;
};

// A std::map-backed StateView with a WriteSet of what changed (tests, genesis building).
class MemoryState : public StateView {
public:
    std::optional<Bytes> Get(std::string_view key) const override;
    void Put(std::string_view key, ByteView value) override;
    void Delete(std::string_view key) override;
    void Scan(std::string_view prefix,
              const std::function<bool(std::string_view, ByteView)>& fn) const override;

    const std::map<std::string, Bytes, std::less<>>& data() const { return m_data; }
    // Every key written or deleted since construction, with its final value.
    const chain::WriteSet& writes() const { return m_writes; }

private:
    std::map<std::string, Bytes, std::less<>> m_data;
    chain::WriteSet m_writes;
};

}  // namespace meterchain::contracts

// A C++ client of the meterchaind client API (proto/node.proto, service Node), used by
// meterctl, the demo, the benchmark and the end-to-end tests. Integrators in other languages
// use the .proto files directly.
//
// Errors: the gRPC status code mapped to a StatusCode, the server's message kept
// (kInvalidArgument "nonce 3 replayed ...", kUnauthenticated, kResourceExhausted
// "mempool full ...", kIoError "node 127.0.0.1:7701 unreachable: ...").
// Thread-safety: a Client may be used from several threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/crypto/signer.h"
#include "proto/node.grpc.pb.h"

namespace meterchain::client {

class Client {
public:
    // `address` is host:port of a node's client_listen.
    explicit Client(const std::string& address);

    const std::string& address() const { return m_address; }
    Result<Hash256> Submit(const chain::Transaction& tx) const;
    // Up to 1000 transactions in one call; one result per transaction, in order (an error for
    // the whole call is repeated for each).
    std::vector<Result<Hash256>> SubmitMany(const std::vector<const chain::Transaction*>& txs) const;
    Result<v1::TxStatus> GetTransaction(const Hash256& tx_hash) const;
    // Waits up to timeout_ms on the server for the transaction to commit (state COMMITTED or
    // FAILED); PENDING/UNKNOWN when it did not in time.
    Result<v1::TxStatus> WaitForCommit(const Hash256& tx_hash, uint32_t timeout_ms) const;
    Result<v1::NodeStatus> GetStatus(uint32_t timeout_ms = 2000) const;
    Result<chain::Block> GetBlock(uint64_t height) const;
    Result<chain::Block> GetLatestBlock() const;
    Result<Bytes> Query(const std::string& contract, const std::string& method,
                        ByteView args) const;
    Result<v1::ProofResponse> GetTxProof(const Hash256& tx_hash) const;
    // The sender's last committed nonce (0 if it never sent anything).
    Result<uint64_t> LastNonce(ByteView sender) const;
    // Waits until the node answers (it may still be starting) or the deadline passes.
    bool WaitUntilUp(std::chrono::steady_clock::time_point deadline) const;
    // Waits until the node has committed block `height` or the deadline passes.
    bool WaitForHeight(uint64_t height, std::chrono::steady_clock::time_point deadline) const;

    v1::Node::Stub& stub() const { return *m_stub; }

private:
    std::string m_address;
    std::unique_ptr<v1::Node::Stub> m_stub;
};

// Signed transactions ready to submit.
chain::Transaction MakeStatePut(const crypto::Signer& signer, const std::string& chain_id,
                                uint64_t nonce, const std::string& key, ByteView value,
                                uint64_t timestamp_ms = 0);
chain::Transaction MakeContractCall(const crypto::Signer& signer, const std::string& chain_id,
                                    uint64_t nonce, const std::string& contract,
                                    const std::string& method, ByteView args,
                                    uint64_t timestamp_ms = 0);

// The StatusCode for a gRPC status, message prefixed with the node address on transport errors.
Status FromGrpc(const grpc::Status& status, const std::string& address);

}  // namespace meterchain::client

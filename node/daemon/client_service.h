// The client gRPC API (service Node in proto/node.proto) served by meterchaind. Errors are
// gRPC status codes with a message: INVALID_ARGUMENT (malformed input, replayed nonce),
// UNAUTHENTICATED (bad signature), ALREADY_EXISTS (duplicate), RESOURCE_EXHAUSTED (mempool
// full), NOT_FOUND (no such block/transaction/key), UNAVAILABLE (shutting down).
#pragma once

#include "proto/node.grpc.pb.h"

namespace meterchain::node {

class Node;

class ClientService final : public v1::Node::Service {
public:
    explicit ClientService(Node& node) : m_node(node) {}

    grpc::Status SubmitTransaction(grpc::ServerContext*, const v1::SubmitRequest*,
                                   v1::SubmitResponse*) override;
    grpc::Status SubmitStream(
        grpc::ServerContext*,
        grpc::ServerReaderWriter<v1::SubmitBatchResponse, v1::SubmitBatchRequest>*) override;
    grpc::Status SubmitTransactions(grpc::ServerContext*, const v1::SubmitBatchRequest*,
                                    v1::SubmitBatchResponse*) override;
    grpc::Status GetTransaction(grpc::ServerContext*, const v1::TxQuery*,
                                v1::TxStatus*) override;
    grpc::Status WaitForCommit(grpc::ServerContext*, const v1::TxQuery*, v1::TxStatus*) override;
    grpc::Status GetBlock(grpc::ServerContext*, const v1::BlockQuery*, v1::Block*) override;
    grpc::Status StreamBlocks(grpc::ServerContext*, const v1::StreamBlocksRequest*,
                              grpc::ServerWriter<v1::Block>*) override;
    grpc::Status StreamCommits(grpc::ServerContext*, const v1::StreamBlocksRequest*,
                               grpc::ServerWriter<v1::BlockSummary>*) override;
    grpc::Status GetStatus(grpc::ServerContext*, const v1::StatusRequest*,
                           v1::NodeStatus*) override;
    grpc::Status Query(grpc::ServerContext*, const v1::QueryRequest*,
                       v1::QueryResponse*) override;
    grpc::Status GetTxProof(grpc::ServerContext*, const v1::ProofRequest*,
                            v1::ProofResponse*) override;
    // calibration_watch.cpp
    grpc::Status WatchWorkOrder(grpc::ServerContext*, const v1::WatchWorkOrderRequest*,
                                grpc::ServerWriter<v1::WorkOrderEvent>*) override;

private:
    Node& m_node;
};

}  // namespace meterchain::node

// WatchWorkOrder: a calibration work order's transitions as a server stream (proto/node.proto).
#include <chrono>

#include "contracts/calibration.h"
#include "node/base/thread_name.h"
#include "node/daemon/client_service.h"
#include "node/daemon/node.h"
#include "node/executor/executor.h"

namespace meterchain::node {

// Reads the order from committed state after every new block and writes the transitions the
// client has not seen yet. Each event carries the order as committed when it was read (so a
// client that joins late still sees every transition once, in order). Ends with OK after the
// CLOSED transition, when the client goes away or when the node stops.
grpc::Status ClientService::WatchWorkOrder(grpc::ServerContext* ctx,
                                           const v1::WatchWorkOrderRequest* req,
                                           grpc::ServerWriter<v1::WorkOrderEvent>* writer) {
    const base::ScopedThreadName name("mc-watch");
    int sent = 0;
    bool first = true;
    while (!ctx->IsCancelled() && !m_node.stopping()) {
        const uint64_t tip = m_node.store().Tip().height;
        CommittedStateView state(m_node.store());
        auto order = contracts::FindWorkOrder(state, req->order_no());
        if (!order.ok()) return {grpc::StatusCode::INTERNAL, order.status().message()};
        if (!order->has_value()) {
            if (first) return {grpc::StatusCode::NOT_FOUND, "no work order " + req->order_no()};
            return {grpc::StatusCode::INTERNAL, "work order disappeared"};
        }
        first = false;
        const v1::WorkOrder& o = **order;
        for (; sent < o.transitions_size(); ++sent) {
            v1::WorkOrderEvent event;
            *event.mutable_transition() = o.transitions(sent);
            *event.mutable_order() = o;
            if (!writer->Write(event)) return grpc::Status::OK;
        }
        if (o.state() == v1::ORDER_CLOSED) return grpc::Status::OK;
        m_node.WaitForHeight(tip, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
    }
    return grpc::Status::OK;
}

}  // namespace meterchain::node

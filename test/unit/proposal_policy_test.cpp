// When a primary proposes a partial batch (node/daemon/proposal_policy.h). Built into
// mempool_test: the policy is header-only, and the node library is not linked by unit tests.
#include <catch2/catch.hpp>

#include "node/daemon/proposal_policy.h"

TEST_CASE("a partial batch waits for more transactions only while the primary is overloaded",
          "[proposal]") {
    using meterchain::node::kBusyBlockTxs;
    using meterchain::node::kOverloadBacklog;
    using meterchain::node::kPipelineMinTxs;
    using meterchain::node::PartialBatch;
    using meterchain::node::PartialBatchMayGo;

    PartialBatch light;
    light.txs = 3;
    light.delay_over = true;
    CHECK(PartialBatchMayGo(light));  // nothing in flight, the batch delay is over: it goes
    light.delay_over = false;
    CHECK_FALSE(PartialBatchMayGo(light));

    PartialBatch second = light;  // a second block joins the pipeline only when enough waits
    second.delay_over = true;
    second.heights_in_flight = 1;
    CHECK_FALSE(PartialBatchMayGo(second));
    second.txs = kPipelineMinTxs;
    CHECK(PartialBatchMayGo(second));
    second.heights_in_flight = 2;
    CHECK_FALSE(PartialBatchMayGo(second));

    PartialBatch busy = light;  // overloaded: waits until the batch is big or has waited long
    busy.delay_over = true;
    busy.gossip_backlog = kOverloadBacklog;
    busy.txs = kBusyBlockTxs - 1;
    CHECK_FALSE(PartialBatchMayGo(busy));
    busy.txs = kBusyBlockTxs;
    CHECK(PartialBatchMayGo(busy));
    busy.txs = 1;
    busy.busy_wait_over = true;
    CHECK(PartialBatchMayGo(busy));
    busy.delay_over = false;  // the ordinary batch delay still applies
    CHECK_FALSE(PartialBatchMayGo(busy));
}

TEST_CASE("the pipeline waits for larger blocks when there are more validators", "[proposal]") {
    using meterchain::node::kPipelineMinTxs;
    using meterchain::node::PartialBatch;
    using meterchain::node::PartialBatchMayGo;
    using meterchain::node::PipelineMinTxs;

    CHECK(PipelineMinTxs(1) == kPipelineMinTxs);
    CHECK(PipelineMinTxs(4) == kPipelineMinTxs);
    CHECK(PipelineMinTxs(7) == 112);

    PartialBatch second;  // one block in flight among seven validators
    second.validators = 7;
    second.delay_over = true;
    second.heights_in_flight = 1;
    second.txs = kPipelineMinTxs;
    CHECK_FALSE(PartialBatchMayGo(second));
    second.txs = 112;
    CHECK(PartialBatchMayGo(second));
    second.heights_in_flight = 0;  // nothing in flight: any batch goes
    second.txs = 1;
    CHECK(PartialBatchMayGo(second));
}

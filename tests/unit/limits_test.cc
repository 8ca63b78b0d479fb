// The pieces that keep one caller or one database from stalling the others: the connect
// breaker and the per-caller quotas.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/quotas.h"
#include "server/db/breaker.h"
#include "tests/support/matchers.h"

namespace schemad {
namespace {

using ::testing::HasSubstr;

const absl::Time kStart = absl::FromUnixSeconds(1'000'000);
const absl::Status kTimeout = absl::UnavailableError("timeout expired");

TEST(BreakerTest, AConnectRefusedAtOnceDoesNotOpenIt) {
  db::Breaker breaker;
  ASSERT_TRUE(breaker.Allow(kStart).ok());
  breaker.Failed(absl::UnavailableError("connection refused"), kStart,
                 kStart + absl::Milliseconds(3));
  EXPECT_EQ(breaker.snapshot().state, db::Breaker::State::kClosed);
  EXPECT_EQ(breaker.snapshot().failures, 1);
  EXPECT_TRUE(breaker.Allow(kStart + absl::Milliseconds(4)).ok());
}

TEST(BreakerTest, ASlowFailureOpensItWithADoublingBackOffAndOneProbe) {
  db::Breaker breaker(absl::Seconds(1), absl::Seconds(3));
  absl::Time now = kStart;
  ASSERT_TRUE(breaker.Allow(now).ok());
  breaker.Failed(kTimeout, now, now + absl::Seconds(2));
  now += absl::Seconds(2);
  EXPECT_EQ(breaker.snapshot().state, db::Breaker::State::kOpen);
  absl::Status refused = breaker.Allow(now + absl::Milliseconds(500));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("database unreachable (1 failed connect, next attempt in 0.5 s): "
                        "timeout expired"));
  // Once the back-off is over one caller probes; the others still fail at once.
  EXPECT_TRUE(breaker.Allow(now + absl::Seconds(1)).ok());
  EXPECT_EQ(breaker.snapshot().state, db::Breaker::State::kHalfOpen);
  EXPECT_THAT(std::string(breaker.Allow(now + absl::Seconds(1)).message()),
              HasSubstr("another call is probing it now"));
  breaker.Failed(kTimeout, now + absl::Seconds(1), now + absl::Seconds(3));
  now += absl::Seconds(3);
  EXPECT_EQ(breaker.snapshot().retry_at, now + absl::Seconds(2));  // doubled
  breaker.Failed(kTimeout, now, now + absl::Seconds(2));
  now += absl::Seconds(2);
  EXPECT_EQ(breaker.snapshot().retry_at, now + absl::Seconds(3));  // capped
  ASSERT_TRUE(breaker.Allow(now + absl::Seconds(3)).ok());
  breaker.Succeeded();
  EXPECT_EQ(breaker.snapshot().state, db::Breaker::State::kClosed);
  EXPECT_EQ(breaker.snapshot().failures, 0);
}

TEST(QuotasTest, WatchesAndCallsAreCountedPerCallerAndGivenBack) {
  Config::Limits limits;
  limits.watches_per_caller = 2;
  limits.calls_per_caller = 1;
  limits.reserved_for_changes = 2;
  api::Quotas quotas(limits, 4);
  auto w1 = quotas.Take("bot", api::Quotas::Kind::kWatch);
  auto w2 = quotas.Take("bot", api::Quotas::Kind::kWatch);
  ASSERT_TRUE(w1.ok() && w2.ok());
  EXPECT_THAT(quotas.Take("bot", api::Quotas::Kind::kWatch),
              testing::StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("bot holds 2 open WatchVersion streams")));
  EXPECT_TRUE(quotas.Take("other", api::Quotas::Kind::kWatch).ok());
  w1->Release();
  EXPECT_TRUE(quotas.Take("bot", api::Quotas::Kind::kWatch).ok());

  auto call = quotas.Take("bot", api::Quotas::Kind::kCall);
  ASSERT_TRUE(call.ok());
  EXPECT_THAT(quotas.Take("bot", api::Quotas::Kind::kSyncRead),
              testing::StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("bot has 1 calls in flight")));
  // Changes are never refused by a quota.
  EXPECT_TRUE(quotas.Take("bot", api::Quotas::Kind::kChange).ok());
  { api::Quotas::Ticket done = *std::move(call); }
  EXPECT_EQ(quotas.UsageOf("bot").calls, 0);
}

TEST(QuotasTest, SyncReadsLeaveTheReservedThreadsFree) {
  Config::Limits limits;
  limits.calls_per_caller = 100;
  limits.reserved_for_changes = 2;
  api::Quotas quotas(limits, 4);  // 2 sync reads at most
  auto a = quotas.Take("a", api::Quotas::Kind::kSyncRead);
  auto b = quotas.Take("b", api::Quotas::Kind::kSyncRead);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_THAT(quotas.Take("c", api::Quotas::Kind::kSyncRead),
              testing::StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("the server has 2 reads in flight")));
  EXPECT_TRUE(quotas.Take("c", api::Quotas::Kind::kCall).ok());
  a->Release();
  EXPECT_TRUE(quotas.Take("c", api::Quotas::Kind::kSyncRead).ok());
}

}  // namespace
}  // namespace schemad

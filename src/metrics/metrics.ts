import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';

export const GUARD_DECISIONS = 'verso_guard_decisions_total';
export const CACHE_LOOKUPS = 'verso_token_cache_lookups_total';
export const CACHE_EVICTIONS = 'verso_token_cache_evictions_total';
export const INVALIDATION_MESSAGES = 'verso_invalidation_messages_total';
export const INVALIDATION_RECONNECTS = 'verso_invalidation_reconnects_total';
export const INVALIDATION_CHANNEL_UP = 'verso_invalidation_channel_up';
export const INVALIDATION_DELAY = 'verso_invalidation_delay_seconds';

/**
 * Counts of the guard's most frequent outcomes, kept as plain numbers and
 * added to their prom-client counters when the metrics are collected. A
 * labelled `inc()` hashes and validates its labels on every call, which in a
 * profile of the bench server cost about as much as both cache lookups of a
 * request. Like the default registry, the counts are shared by the process.
 */
export const hotPathCounts = { allowed: 0, cacheHits: 0 };

export const metricProviders = [
  makeCounterProvider({
    name: GUARD_DECISIONS,
    help: 'Guard decisions on bearer tokens, by outcome.',
    labelNames: ['outcome'],
    collect() {
      if (hotPathCounts.allowed === 0) return;
      this.inc({ outcome: 'allowed' }, hotPathCounts.allowed);
      hotPathCounts.allowed = 0;
    },
  }),
  makeCounterProvider({
    name: CACHE_LOOKUPS,
    help: 'Token state cache lookups, by result (hit, miss, or bypass while the invalidation channel is down).',
    labelNames: ['result'],
    collect() {
      if (hotPathCounts.cacheHits === 0) return;
      this.inc({ result: 'hit' }, hotPathCounts.cacheHits);
      hotPathCounts.cacheHits = 0;
    },
  }),
  makeCounterProvider({
    name: CACHE_EVICTIONS,
    help: 'Token state cache entries removed, by cause (invalidation, clear, capacity, ttl).',
    labelNames: ['cause'],
  }),
  makeCounterProvider({
    name: INVALIDATION_MESSAGES,
    help: 'Messages received on the invalidation channel, by kind (invalidate or probe).',
    labelNames: ['kind'],
  }),
  makeCounterProvider({
    name: INVALIDATION_RECONNECTS,
    help: 'Reconnections of the invalidation channel.',
  }),
  makeGaugeProvider({
    name: INVALIDATION_CHANNEL_UP,
    help: 'Whether the invalidation channel is up (1) or down (0). While it is down, every token check reads the database.',
  }),
  makeHistogramProvider({
    name: INVALIDATION_DELAY,
    help: 'Delay from the send of an invalidation, inside the revoking transaction, to its eviction on this instance.',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
  }),
];

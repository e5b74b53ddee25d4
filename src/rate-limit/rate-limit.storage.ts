import { randomUUID } from 'node:crypto';

import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import Redis from 'ioredis';

import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';

// A failing Redis is reported at most this often, with the number of calls that fell back meanwhile.
const FAILURE_LOG_INTERVAL_MS = 30_000;
// Rate limits sit in front of login, so a slow Redis must not hold a login up for long.
const REDIS_COMMAND_TIMEOUT_MS = 500;

/**
 * One sliding-window step, atomic because Redis runs a script without
 * interleaving. The sorted set holds one member per counted request, scored by
 * Redis's own clock, so instances with skewed clocks still share one window.
 * The request that exceeds the limit sets a block key for the block duration
 * and clears the window, as @nestjs/throttler's in-memory storage does.
 *
 * KEYS[1] window, KEYS[2] block; ARGV: window ms, limit, block ms, member.
 * Returns {total hits, ms until the window or block ends, blocked (0 or 1), ms until the block ends}.
 */
const SLIDING_WINDOW_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local windowMs = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local blockMs = math.max(tonumber(ARGV[3]), 1)

local blockedFor = redis.call('PTTL', KEYS[2])
if blockedFor > 0 then
  return {limit + 1, blockedFor, 1, blockedFor}
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs)
local hits = redis.call('ZCARD', KEYS[1]) + 1
if hits > limit then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'PX', blockMs)
  return {hits, blockMs, 1, blockMs}
end

redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], windowMs)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {hits, tonumber(oldest[2]) + windowMs - now, 0, 0}
`;

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface RateLimitRedis extends Redis {
  slidingWindow(windowKey: string, blockKey: string, windowMs: number, limit: number, blockMs: number, member: string): Promise<[number, number, number, number]>;
}

/**
 * Counters for @nestjs/throttler. With REDIS_URL they live in Redis, so every
 * instance counts against one limit; without it, in this process. While Redis
 * is unreachable each instance falls back to its own counters: limits then
 * hold per instance instead of not at all, and login keeps working.
 */
@Injectable()
export class RateLimitStorage implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RateLimitStorage.name);
  private readonly memory = new ThrottlerStorageService();
  private readonly redis: RateLimitRedis | null = null;
  private readonly prefix: string;
  private fallbacksSinceLog = 0;
  private lastFailureLogAt = 0;
  private connecting: Promise<void> | null = null;
  private closed = false;

  constructor(@InjectConfig() config: AppConfig) {
    this.prefix = config.rateLimit.redisPrefix;
    if (!config.rateLimit.enabled || !config.rateLimit.redisUrl) return;

    const redis = new Redis(config.rateLimit.redisUrl, {
      lazyConnect: true,
      // Fail a command at once while disconnected, and use the fallback.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      connectionName: 'verso-rate-limit',
    });
    redis.defineCommand('slidingWindow', { numberOfKeys: 2, lua: SLIDING_WINDOW_SCRIPT });
    redis.on('error', (error: Error) => this.reportFailure(error));
    this.redis = redis as RateLimitRedis;
  }

  get usesRedis(): boolean {
    return this.redis !== null;
  }

  // Nest runs each lifecycle hook twice on this object, because it is both
  // this provider and the value of the throttler's storage token.
  onModuleInit(): Promise<void> {
    this.connecting ??= this.connect();
    return this.connecting;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.memory.onApplicationShutdown();
    if (this.redis) await this.redis.quit().catch(() => this.redis?.disconnect());
  }

  private async connect(): Promise<void> {
    if (!this.redis) return;
    try {
      await this.redis.connect();
      this.logger.log('Rate limits are shared through Redis');
    } catch (error) {
      // ioredis keeps reconnecting in the background.
      this.reportFailure(error as Error);
    }
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    if (!this.redis || this.redis.status !== 'ready') {
      if (this.redis) this.fallbacksSinceLog++;
      return this.memory.increment(key, ttl, limit, blockDuration, throttlerName);
    }

    try {
      // The hash tag keeps both keys in one slot of a Redis Cluster.
      const base = `${this.prefix}{${key}}`;
      const [totalHits, msToExpire, blocked, msToBlockExpire] = await this.redis.slidingWindow(
        `${base}:window`,
        `${base}:block`,
        ttl,
        limit,
        blockDuration,
        randomUUID(),
      );
      return {
        totalHits,
        timeToExpire: Math.ceil(msToExpire / 1000),
        isBlocked: blocked === 1,
        timeToBlockExpire: Math.ceil(msToBlockExpire / 1000),
      };
    } catch (error) {
      this.fallbacksSinceLog++;
      this.reportFailure(error as Error);
      return this.memory.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  private reportFailure(error: Error): void {
    const now = Date.now();
    if (now - this.lastFailureLogAt < FAILURE_LOG_INTERVAL_MS) return;

    this.lastFailureLogAt = now;
    this.logger.warn(
      `Redis for rate limits failed (${error.message}); limits are per instance until it is back. ` +
        `${this.fallbacksSinceLog} request(s) counted locally since the last report.`,
    );
    this.fallbacksSinceLog = 0;
  }
}

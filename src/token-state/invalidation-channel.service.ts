import { randomUUID } from 'node:crypto';

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Client, Notification } from 'pg';
import { Counter, Gauge, Histogram } from 'prom-client';
import { EntityManager } from 'typeorm';

import { heldBackSuffix, LogThrottle } from '../common/log-throttle';
import { INVALIDATION_CHANNEL_UP, INVALIDATION_DELAY, INVALIDATION_MESSAGES, INVALIDATION_RECONNECTS } from '../metrics/metrics';
import { VERSO_GUARD_OPTIONS } from '../verso-guard/verso-guard.options';
import type { ResolvedVersoGuardOptions } from '../verso-guard/verso-guard.options';

export const INVALIDATION_CHANNEL = 'verso_token_state';

// NOTIFY payloads are limited to 8000 bytes. A key is at most 38 bytes plus
// JSON quoting, so 150 keys per message stay well below the limit.
const KEYS_PER_MESSAGE = 150;
const PROBE_TIMEOUT_MS = 2000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
// While the channel stays down, one warning per minute reports it, and the
// other attempts log at debug level.
const STILL_DOWN_LOG_INTERVAL_MS = 60_000;

interface InvalidationMessage {
  // Sender instance id, milliseconds since the epoch when sent, and the keys.
  i: string;
  t?: number;
  k?: string[];
  // Probe nonce: a message an instance sends itself to prove the channel works.
  p?: string;
}

/**
 * Parse a payload into a message, or return null when it is not one: not JSON,
 * not an object, or a field of the wrong type. A send time that is not finite
 * (JSON's 1e400 parses as Infinity) is dropped, because the delay histogram
 * rejects it. The keys of such a message still count.
 */
function parseMessage(payload: string): InvalidationMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;

  const { i, t, k, p } = value as Record<string, unknown>;
  if (typeof i !== 'string') return null;
  if (p !== undefined && typeof p !== 'string') return null;
  if (k !== undefined && !(Array.isArray(k) && k.every((key) => typeof key === 'string'))) return null;
  return { i, t: typeof t === 'number' && Number.isFinite(t) ? t : undefined, k: k as string[] | undefined, p };
}

export type ChannelState = 'connecting' | 'up' | 'down' | 'stopped';

type InvalidationHandler = (keys: string[]) => void;
type StateHandler = (state: ChannelState) => void;

/**
 * Queue invalidation messages for the keys inside the caller's transaction;
 * PostgreSQL delivers them to every listener when, and only if, it commits.
 * Exported for tools that revoke without a running channel, such as the CLI.
 */
export async function publishInvalidation(manager: Pick<EntityManager, 'query'>, keys: string[], senderId: string): Promise<void> {
  for (let start = 0; start < keys.length; start += KEYS_PER_MESSAGE) {
    const message: InvalidationMessage = { i: senderId, t: Date.now(), k: keys.slice(start, start + KEYS_PER_MESSAGE) };
    await manager.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify(message)]);
  }
}

/**
 * The PostgreSQL LISTEN/NOTIFY channel that carries cache invalidations
 * between instances.
 *
 * Writers call `publish` inside their transaction, so a message goes out only
 * if the change commits. Each instance keeps one dedicated LISTEN connection
 * outside the pool. The channel counts as up only after a probe, a message to
 * itself, has come back. The probe is repeated at a fixed interval, so a
 * connection that died silently is noticed within interval plus timeout.
 */
@Injectable()
export class InvalidationChannelService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly instanceId = randomUUID();
  private readonly logger = new Logger(InvalidationChannelService.name);
  private readonly logThrottle = new LogThrottle(STILL_DOWN_LOG_INTERVAL_MS);
  private client: Client | null = null;
  private state: ChannelState = 'connecting';
  private attempt = 0;
  private downSince: number | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private readonly probes = new Map<string, () => void>();
  private readonly invalidationHandlers: InvalidationHandler[] = [];
  private readonly stateHandlers: StateHandler[] = [];

  constructor(
    @Inject(VERSO_GUARD_OPTIONS) private readonly options: ResolvedVersoGuardOptions,
    @InjectMetric(INVALIDATION_MESSAGES) private readonly messages: Counter<'kind'>,
    @InjectMetric(INVALIDATION_RECONNECTS) private readonly reconnects: Counter,
    @InjectMetric(INVALIDATION_DELAY) private readonly delay: Histogram,
    @InjectMetric(INVALIDATION_CHANNEL_UP) private readonly channelUp: Gauge,
  ) {}

  get isUp(): boolean {
    return this.state === 'up';
  }

  get currentState(): ChannelState {
    return this.state;
  }

  onInvalidation(handler: InvalidationHandler): void {
    this.invalidationHandlers.push(handler);
  }

  onStateChange(handler: StateHandler): void {
    this.stateHandlers.push(handler);
  }

  async onApplicationBootstrap(): Promise<void> {
    // The first connection is awaited so that a healthy instance starts with
    // its cache in use. A failure only delays that and does not stop the start.
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.setState('stopped');
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.reconnectTimer = null;
    this.probeTimer = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /** Queue invalidation messages for the keys inside the caller's transaction. */
  publish(manager: EntityManager, keys: string[]): Promise<void> {
    return publishInvalidation(manager, keys, this.instanceId);
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = null;
    if (this.state === 'stopped') return;

    const client = new Client({
      connectionString: this.options.databaseUrl,
      connectionTimeoutMillis: this.options.database.connectTimeoutMs,
      query_timeout: this.options.database.queryTimeoutMs,
      keepAlive: true,
      application_name: 'verso-invalidation',
    });
    client.on('notification', (notification) => this.handleNotification(notification));
    client.on('error', (error) => this.handleFailure(client, error));
    client.on('end', () => this.handleFailure(client, new Error('connection ended')));

    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
      await this.probe(client);
    } catch (error) {
      this.handleFailure(client, error as Error);
      return;
    }
    // A shutdown or a failure event while connecting has already replaced this client.
    if (this.client !== client) return;

    if (this.downSince !== null) {
      this.reconnects.inc();
      this.logger.log(`Invalidation channel is up again after ${Date.now() - this.downSince} ms and ${this.attempt} attempts`);
    } else {
      this.logger.log('Invalidation channel is up');
    }
    this.attempt = 0;
    this.downSince = null;
    this.setState('up');
    this.scheduleProbe(client);
  }

  /** Probe again after the interval; each probe waits for the last, so slow probes never pile up. */
  private scheduleProbe(client: Client): void {
    this.probeTimer = setTimeout(() => void this.probeOrFail(client), this.options.invalidation.probeIntervalMs);
    this.probeTimer.unref();
  }

  private async probeOrFail(client: Client): Promise<void> {
    if (this.client !== client) return;
    try {
      await this.probe(client);
    } catch (error) {
      this.handleFailure(client, error as Error);
      return;
    }
    if (this.client === client) this.scheduleProbe(client);
  }

  /** Send a message to this instance through the server and wait for it to come back. */
  private async probe(client: Client): Promise<void> {
    const nonce = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const received = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`probe not received within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      timer.unref();
      this.probes.set(nonce, resolve);
    });

    try {
      const message: InvalidationMessage = { i: this.instanceId, t: Date.now(), p: nonce };
      const sent = client.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify(message)]);
      // The timeout covers the send too: DATABASE_QUERY_TIMEOUT_MS may exceed
      // it, and a timeout that fired while the send still waited went
      // unhandled and ended the process.
      await Promise.race([sent.then(() => received), received]);
    } finally {
      clearTimeout(timer);
      this.probes.delete(nonce);
    }
  }

  private handleNotification(notification: Notification): void {
    if (notification.channel !== INVALIDATION_CHANNEL || !notification.payload) return;

    // This runs inside pg's socket handler, where a throw would end the
    // process. Any role that can connect to the database may NOTIFY on the
    // channel, so a message is checked before use and nothing here may throw.
    try {
      this.applyMessage(parseMessage(notification.payload));
    } catch (error) {
      this.logger.error(`Invalidation message handling failed: ${(error as Error).message}`);
    }
  }

  private applyMessage(message: InvalidationMessage | null): void {
    if (!message) {
      this.logger.warn('Ignored a malformed invalidation message');
      return;
    }

    if (message.p !== undefined) {
      this.messages.labels('probe').inc();
      if (message.i === this.instanceId) this.probes.get(message.p)?.();
      return;
    }
    if (!message.k) return;

    this.messages.labels('invalidate').inc();
    for (const handler of this.invalidationHandlers) handler(message.k);
    if (message.t !== undefined) this.delay.observe(Math.max(0, Date.now() - message.t) / 1000);
  }

  private handleFailure(client: Client, error: Error): void {
    // Events from a connection that was already replaced are stale.
    if (this.client !== client || this.state === 'stopped') return;

    this.client = null;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    client.removeAllListeners('end');
    client.removeAllListeners('notification');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);

    this.setState('down');
    const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.attempt);
    const wait = Math.round(backoff / 2 + Math.random() * (backoff / 2));
    this.attempt++;
    this.logFailure(error, wait);
    this.reconnectTimer = setTimeout(() => void this.connect(), wait);
    this.reconnectTimer.unref();
  }

  private logFailure(error: Error, wait: number): void {
    if (this.downSince === null) {
      this.downSince = Date.now();
      this.logThrottle.reset('down');
      this.logThrottle.take('down');
      this.logger.warn(`Invalidation channel is down (${error.message}); token checks read the database until it is back. Reconnecting in ${wait} ms`);
      return;
    }

    const heldBack = this.logThrottle.take('down');
    const detail = `Invalidation channel still down after ${this.attempt} attempts over ${Date.now() - this.downSince} ms (${error.message}); next attempt in ${wait} ms`;
    if (heldBack === null) this.logger.debug(detail);
    else this.logger.warn(detail + heldBackSuffix(heldBack));
  }

  private setState(state: ChannelState): void {
    if (this.state === state) return;
    this.state = state;
    this.channelUp.set(state === 'up' ? 1 : 0);
    for (const handler of this.stateHandlers) handler(state);
  }
}

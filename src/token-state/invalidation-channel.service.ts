import { randomUUID } from 'node:crypto';

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Client, Notification } from 'pg';
import { Counter, Histogram } from 'prom-client';
import { EntityManager } from 'typeorm';

import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { DATABASE_URL } from '../database/database.constants';
import { INVALIDATION_DELAY, INVALIDATION_MESSAGES, INVALIDATION_RECONNECTS } from '../metrics/metrics';

export const INVALIDATION_CHANNEL = 'verso_token_state';

// NOTIFY payloads are limited to 8000 bytes; a key is at most 38 bytes plus
// JSON quoting, so 150 keys per message stay well below it.
const KEYS_PER_MESSAGE = 150;
const PROBE_TIMEOUT_MS = 2000;
const MAX_BACKOFF_MS = 5000;

interface InvalidationMessage {
  // Sender instance id, milliseconds since the epoch when sent, and the keys.
  i: string;
  t: number;
  k?: string[];
  // Probe nonce: a message an instance sends itself to prove the channel works.
  p?: string;
}

/**
 * Queue invalidation messages for the keys inside the transaction of
 * `manager`, as sender `senderId`. Exported for writers that run no channel
 * of their own, such as the operator CLI.
 */
export async function publishInvalidation(manager: EntityManager, senderId: string, keys: string[]): Promise<void> {
  for (let start = 0; start < keys.length; start += KEYS_PER_MESSAGE) {
    const message: InvalidationMessage = { i: senderId, t: Date.now(), k: keys.slice(start, start + KEYS_PER_MESSAGE) };
    await manager.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify(message)]);
  }
}

export type ChannelState = 'connecting' | 'up' | 'down' | 'stopped';

type InvalidationHandler = (keys: string[]) => void;
type StateHandler = (state: ChannelState) => void;

/**
 * The PostgreSQL LISTEN/NOTIFY channel that carries cache invalidations
 * between instances.
 *
 * Writers call `publish` inside their transaction, so a message goes out only
 * if the change commits. Each instance holds one dedicated LISTEN connection
 * outside the pool. The channel counts as up only after a probe, a message to
 * itself, has come back; a probe is repeated at a fixed interval, so a
 * connection that died silently is noticed within interval plus timeout.
 */
@Injectable()
export class InvalidationChannelService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly instanceId = randomUUID();
  private readonly logger = new Logger(InvalidationChannelService.name);
  private client: Client | null = null;
  private state: ChannelState = 'connecting';
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private readonly probes = new Map<string, () => void>();
  private readonly invalidationHandlers: InvalidationHandler[] = [];
  private readonly stateHandlers: StateHandler[] = [];

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    @InjectMetric(INVALIDATION_MESSAGES) private readonly messages: Counter<'kind'>,
    @InjectMetric(INVALIDATION_RECONNECTS) private readonly reconnects: Counter,
    @InjectMetric(INVALIDATION_DELAY) private readonly delay: Histogram,
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
    // its cache in use; a failure only delays that, it does not stop the start.
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.setState('stopped');
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /**
   * Queue invalidation messages for the keys inside the caller's transaction.
   * PostgreSQL delivers them to every listener when, and only if, it commits.
   */
  publish(manager: EntityManager, keys: string[]): Promise<void> {
    return publishInvalidation(manager, this.instanceId, keys);
  }

  private async connect(): Promise<void> {
    if (this.state === 'stopped') return;

    const client = new Client({
      connectionString: this.databaseUrl,
      connectionTimeoutMillis: this.config.database.connectTimeoutMs,
      query_timeout: this.config.database.queryTimeoutMs,
      keepAlive: true,
      application_name: 'verso-invalidation',
    });
    client.on('notification', (notification) => this.handleNotification(notification));
    client.on('error', (error) => this.handleFailure(client, error));
    client.on('end', () => this.handleFailure(client, new Error('connection ended')));

    try {
      this.client = client;
      await client.connect();
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
      await this.probe();
    } catch (error) {
      this.handleFailure(client, error as Error);
      return;
    }

    if (this.attempt > 0) this.reconnects.inc();
    this.attempt = 0;
    this.setState('up');
    this.logger.log('Invalidation channel is up');
    this.probeTimer = setInterval(() => void this.probeOrFail(client), this.config.tokenCache.probeIntervalMs);
    this.probeTimer.unref();
  }

  private async probeOrFail(client: Client): Promise<void> {
    if (this.client !== client) return;
    try {
      await this.probe();
    } catch (error) {
      this.handleFailure(client, error as Error);
    }
  }

  /** Send a message to this instance through the server and wait for it to come back. */
  private async probe(): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('no connection');

    const nonce = randomUUID();
    const received = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.probes.delete(nonce);
        reject(new Error(`probe not received within ${PROBE_TIMEOUT_MS} ms`));
      }, PROBE_TIMEOUT_MS);
      this.probes.set(nonce, () => {
        clearTimeout(timer);
        resolve();
      });
    });

    const message: InvalidationMessage = { i: this.instanceId, t: Date.now(), p: nonce };
    await client.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify(message)]);
    await received;
  }

  private handleNotification(notification: Notification): void {
    if (notification.channel !== INVALIDATION_CHANNEL || !notification.payload) return;

    let message: InvalidationMessage;
    try {
      message = JSON.parse(notification.payload) as InvalidationMessage;
    } catch {
      this.logger.warn('Ignored an invalidation message that is not JSON');
      return;
    }

    if (message.p !== undefined) {
      this.messages.labels('probe').inc();
      if (message.i === this.instanceId) this.probes.get(message.p)?.();
      return;
    }
    if (!Array.isArray(message.k)) return;

    this.messages.labels('invalidate').inc();
    for (const handler of this.invalidationHandlers) handler(message.k);
    if (typeof message.t === 'number') this.delay.observe(Math.max(0, Date.now() - message.t) / 1000);
  }

  private handleFailure(client: Client, error: Error): void {
    // Events from a connection that was already replaced are stale.
    if (this.client !== client || this.state === 'stopped') return;

    this.client = null;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);

    this.setState('down');
    const backoff = Math.min(MAX_BACKOFF_MS, 100 * 2 ** this.attempt);
    const wait = backoff / 2 + Math.random() * (backoff / 2);
    this.attempt++;
    this.logger.warn(`Invalidation channel is down (${error.message}); reconnecting in ${Math.round(wait)} ms, attempt ${this.attempt}`);
    this.reconnectTimer = setTimeout(() => void this.connect(), wait);
    this.reconnectTimer.unref();
  }

  private setState(state: ChannelState): void {
    if (this.state === state) return;
    this.state = state;
    for (const handler of this.stateHandlers) handler(state);
  }
}

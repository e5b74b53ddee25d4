import { statSync } from 'node:fs';
import { isIP } from 'node:net';

import { z } from 'zod';

import { StartupError } from '../common/startup-error';

const ALGORITHMS = ['HS256', 'ES256', 'RS256'] as const;
export type SigningAlgorithm = (typeof ALGORITHMS)[number];

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

/**
 * Parse a whole number within its bounds, or use the fallback when the variable is unset.
 * z.coerce.number() read an empty variable (`PORT=` in a deployment file) as 0,
 * which for PORT meant a random port and for TOKEN_CACHE_TTL_MS cache entries
 * that never expire.
 */
const integer = (fallback: number, min: number, max?: number) => {
  const rule = max === undefined ? `must be a whole number of at least ${min}` : `must be a whole number from ${min} to ${max}`;
  return z
    .string()
    .refine((value) => /^\s*-?\d+\s*$/.test(value) && Number(value) >= min && (max === undefined || Number(value) <= max), { message: rule })
    .transform(Number)
    .default(fallback);
};

const seconds = (fallback: number) => integer(fallback, 1);

const list = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

// The names that proxy-addr, which Fastify's trustProxy uses, accepts besides addresses.
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Check whether an entry is an IP address, a CIDR range such as 10.0.0.0/8, or one of PROXY_RANGE_NAMES. */
function isProxyRange(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;

  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Comma-separated proxy addresses. Issues name the entry by position, never by value. */
const proxyList = list.superRefine((entries, context) => {
  for (const [index, entry] of entries.entries()) {
    if (!isProxyRange(entry)) {
      context.addIssue({ code: 'custom', message: `entry ${index + 1} must be an IP address, a CIDR range or one of ${[...PROXY_RANGE_NAMES].join(', ')}` });
    }
  }
});

/** Comma-separated browser origins, each a scheme, host and optional port, as browsers send them. */
const originList = list.superRefine((entries, context) => {
  for (const [index, entry] of entries.entries()) {
    if (!isOrigin(entry)) {
      context.addIssue({ code: 'custom', message: `entry ${index + 1} must be an origin such as https://app.example.com, without a path or a trailing slash` });
    }
  }
});

function isOrigin(entry: string): boolean {
  try {
    const url = new URL(entry);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === entry;
  } catch {
    return false;
  }
}

export interface IntrospectionClient {
  id: string;
  secret: string;
}

// Unreserved URL characters only: RFC 6749 has clients form-encode both parts
// before Basic encoding, and with these characters that encoding changes nothing.
const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
const CLIENT_SECRET_PATTERN = /^[A-Za-z0-9._~-]{32,256}$/;

// RFC 6750's b64token: the characters a bearer token can carry in an Authorization
// header. No client could send a value outside it (one with a trailing newline
// from a secret file, say), so such a value fails the start instead of every scrape.
const BEARER_TOKEN_PATTERN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** `id:secret` pairs separated by commas. Issues name the entry by position, never by value. */
const clientCredentials = z.string().transform((value, context) => {
  const clients: IntrospectionClient[] = [];
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);

  for (const [index, entry] of entries.entries()) {
    const separator = entry.indexOf(':');
    const id = entry.slice(0, separator);
    const secret = entry.slice(separator + 1);
    if (separator < 0 || !CLIENT_ID_PATTERN.test(id)) {
      context.addIssue({ code: 'custom', message: `entry ${index + 1} must be id:secret, with an id of 1 to 64 letters, digits or - . _ ~` });
    } else if (!CLIENT_SECRET_PATTERN.test(secret)) {
      context.addIssue({ code: 'custom', message: `entry ${index + 1} needs a secret of 32 to 256 letters, digits or - . _ ~` });
    } else if (clients.some((client) => client.id === id)) {
      context.addIssue({ code: 'custom', message: `entry ${index + 1} repeats a client id` });
    } else {
      clients.push({ id, secret });
    }
  }
  return clients;
});

/**
 * Environment variables that verso reads, with their defaults. Everything the
 * service needs is parsed here once at start, so a typo fails the start instead
 * of a request.
 */
const environmentSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: integer(3000, 0, 65535),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }).optional(),
    DATABASE_POOL_SIZE: integer(10, 1, 200),
    DATABASE_CONNECT_TIMEOUT_MS: integer(1000, 100, 30_000),
    DATABASE_QUERY_TIMEOUT_MS: integer(1500, 100, 60_000),
    MIGRATIONS_RUN: bool.default(true),
    EMBEDDED_POSTGRES_DIR: z.string().min(1).default('.data/postgres'),
    EMBEDDED_POSTGRES_PORT: integer(54329, 1, 65535),

    JWT_ALGORITHM: z
      .string()
      .default('HS256')
      // jsonwebtoken 9, which @nestjs/jwt and passport-jwt use, cannot verify
      // EdDSA, so offering it would mint tokens that no guard accepts.
      .refine((value) => value !== 'EdDSA', {
        message: 'EdDSA is not supported, because jsonwebtoken cannot verify it; use ES256 or RS256',
        abort: true,
      })
      .pipe(z.enum(ALGORITHMS)),
    JWT_SECRET: z.string().optional(),
    JWT_KEYS_DIR: z.string().min(1).optional(),
    JWT_KEYS: z.string().min(1).optional(),
    // 0 turns the periodic re-read off; SIGHUP reloads the keys either way.
    JWT_KEYS_RELOAD_INTERVAL_MS: integer(0, 0, 86_400_000),
    JWT_ISSUER: z.string().min(1).default('verso'),
    JWT_AUDIENCE: z.string().min(1).default('verso-api'),
    JWT_CLOCK_TOLERANCE_SECONDS: integer(5, 0, 60),
    ACCESS_TOKEN_TTL_SECONDS: seconds(900),

    REFRESH_TOKEN_SECRET: z.string().optional(),
    REFRESH_GRACE_SECONDS: integer(10, 0, 300),
    SESSION_TTL_SECONDS: seconds(30 * 24 * 3600),
    SESSION_IDLE_TIMEOUT_SECONDS: seconds(14 * 24 * 3600),
    // A timer fires at once for a delay above 2^31 - 1 ms (about 24.8 days), so the interval is capped at a day.
    SESSION_CLEANUP_INTERVAL_SECONDS: integer(3600, 1, 86_400),
    SESSION_RETENTION_SECONDS: seconds(7 * 24 * 3600),

    TOKEN_CACHE_ENABLED: bool.default(true),
    TOKEN_CACHE_TTL_MS: integer(30_000, 1, 300_000),
    TOKEN_CACHE_MAX_ENTRIES: integer(200_000, 1, 10_000_000),
    INVALIDATION_PROBE_INTERVAL_MS: integer(1000, 100, 60_000),
    // Fault injection for the race tests; ignored unless NODE_ENV=test.
    TOKEN_STATE_READ_DELAY_MS: integer(0, 0, 10_000),

    ARGON2_MEMORY_KIB: integer(19_456, 1024, 1_048_576),
    ARGON2_TIME_COST: integer(2, 1, 10),
    ARGON2_PARALLELISM: integer(1, 1, 16),

    TRUSTED_PROXIES: proxyList.default([]),
    CORS_ORIGINS: originList.default([]),
    BODY_LIMIT_BYTES: integer(16_384, 1024, 10_485_760),
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
    RATE_LIMIT_REDIS_PREFIX: z.string().min(1).max(100).default('verso:rate-limit:'),
    RATE_LIMIT_ENABLED: bool.default(true),
    RATE_LIMIT_LOGIN_PER_ACCOUNT: integer(10, 1),
    RATE_LIMIT_LOGIN_PER_ADDRESS: integer(30, 1),
    RATE_LIMIT_REFRESH_PER_ADDRESS: integer(60, 1),
    RATE_LIMIT_REGISTER_PER_ADDRESS: integer(10, 1),
    RATE_LIMIT_WINDOW_SECONDS: seconds(60),

    // Credentials of the gateways and services allowed to call /oauth/introspect and /oauth/revoke.
    INTROSPECTION_CLIENTS: clientCredentials.default([]),
    // Bearer token that GET /metrics requires. Without it the route is open.
    METRICS_TOKEN: z.string().optional(),
  })
  .superRefine((env, context) => {
    // Development keys live in .data/ and are written by the launcher; in
    // production every key must come from the operator.
    if (env.NODE_ENV !== 'production') return;

    if (env.JWT_ALGORITHM === 'HS256' && !env.JWT_SECRET) {
      context.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required in production with JWT_ALGORITHM=HS256' });
    }
    if (env.JWT_ALGORITHM !== 'HS256' && !env.JWT_KEYS_DIR && !env.JWT_KEYS) {
      context.addIssue({ code: 'custom', path: ['JWT_KEYS_DIR'], message: `or JWT_KEYS is required in production with JWT_ALGORITHM=${env.JWT_ALGORITHM}` });
    }
    if (!env.REFRESH_TOKEN_SECRET) {
      context.addIssue({ code: 'custom', path: ['REFRESH_TOKEN_SECRET'], message: 'is required in production' });
    }
    if (!env.DATABASE_URL) {
      context.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'is required in production; the embedded PostgreSQL is for development' });
    }
  })
  .superRefine((env, context) => {
    if (env.JWT_SECRET !== undefined && Buffer.byteLength(env.JWT_SECRET) < 32) {
      context.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'must be at least 32 bytes long' });
    }
    if (env.REFRESH_TOKEN_SECRET !== undefined && Buffer.byteLength(env.REFRESH_TOKEN_SECRET) < 32) {
      context.addIssue({ code: 'custom', path: ['REFRESH_TOKEN_SECRET'], message: 'must be at least 32 bytes long' });
    }
    // Checked here, so a wrong path is a configuration error naming the
    // variable instead of a stack trace after the database has started.
    if (env.JWT_KEYS_DIR !== undefined && !isDirectory(env.JWT_KEYS_DIR)) {
      context.addIssue({ code: 'custom', path: ['JWT_KEYS_DIR'], message: 'must name an existing directory' });
    }
    // Development supplies only HS256 secrets, so ES256 and RS256 need keys in every mode.
    if (env.JWT_ALGORITHM !== 'HS256' && env.NODE_ENV !== 'production' && !env.JWT_KEYS_DIR && !env.JWT_KEYS) {
      context.addIssue({ code: 'custom', path: ['JWT_KEYS_DIR'], message: `or JWT_KEYS is required with JWT_ALGORITHM=${env.JWT_ALGORITHM}` });
    }
    // HS256 signs with JWT_SECRET alone, so keys given with it would be ignored
    // while the operator believes the service signs with them.
    if (env.JWT_ALGORITHM === 'HS256' && (env.JWT_KEYS_DIR !== undefined || env.JWT_KEYS !== undefined)) {
      context.addIssue({ code: 'custom', path: [env.JWT_KEYS_DIR !== undefined ? 'JWT_KEYS_DIR' : 'JWT_KEYS'], message: 'is for JWT_ALGORITHM=ES256 or RS256, and JWT_ALGORITHM is HS256' });
    }
    if (env.JWT_KEYS !== undefined && !isJsonArray(env.JWT_KEYS)) {
      context.addIssue({ code: 'custom', path: ['JWT_KEYS'], message: 'must be a JSON array of {kid, privateKey} or {kid, publicKey} objects' });
    }
    if (env.METRICS_TOKEN !== undefined && Buffer.byteLength(env.METRICS_TOKEN) < 32) {
      context.addIssue({ code: 'custom', path: ['METRICS_TOKEN'], message: 'must be at least 32 bytes long' });
    } else if (env.METRICS_TOKEN !== undefined && !BEARER_TOKEN_PATTERN.test(env.METRICS_TOKEN)) {
      context.addIssue({ code: 'custom', path: ['METRICS_TOKEN'], message: 'must contain only letters, digits and - . _ ~ + /, with = allowed only at the end' });
    }
  });

export type Environment = z.infer<typeof environmentSchema>;

/** The validated configuration, grouped by the part of verso that reads it. */
export interface AppConfig {
  env: Environment['NODE_ENV'];
  http: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    trustedProxies: string[];
    corsOrigins: string[];
  };
  logLevel: Environment['LOG_LEVEL'];
  database: {
    url?: string;
    poolSize: number;
    connectTimeoutMs: number;
    queryTimeoutMs: number;
    migrationsRun: boolean;
    embeddedDir: string;
    embeddedPort: number;
  };
  jwt: {
    algorithm: SigningAlgorithm;
    secret?: string;
    keysDir?: string;
    keys?: string;
    keysReloadIntervalMs: number;
    issuer: string;
    audience: string;
    clockToleranceSeconds: number;
    accessTokenTtlSeconds: number;
  };
  sessions: {
    refreshTokenSecret?: string;
    refreshGraceSeconds: number;
    ttlSeconds: number;
    idleTimeoutSeconds: number;
    cleanupIntervalSeconds: number;
    retentionSeconds: number;
  };
  tokenCache: {
    enabled: boolean;
    ttlMs: number;
    maxEntries: number;
    probeIntervalMs: number;
    /** Test-only delay after each token state read; 0 unless NODE_ENV=test. */
    testReadDelayMs: number;
  };
  argon2: {
    memoryCost: number;
    timeCost: number;
    parallelism: number;
  };
  rateLimit: {
    enabled: boolean;
    redisUrl?: string;
    redisPrefix: string;
    windowSeconds: number;
    loginPerAccount: number;
    loginPerAddress: number;
    refreshPerAddress: number;
    registerPerAddress: number;
  };
  introspectionClients: IntrospectionClient[];
  metrics: {
    /** Bearer token required on GET /metrics, or undefined to leave the route open. */
    token?: string;
  };
}

/** Thrown when the environment is invalid; the message names variables, never values. */
export class ConfigurationError extends StartupError {}

/**
 * Validate the process environment and build the typed configuration. The
 * error names each invalid variable with the rule it breaks, and never echoes
 * a value, because values may be secrets.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  const result = environmentSchema.safeParse(source);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const variable = issue.path.join('.') || '(environment)';
      const rule = issue.code === 'custom' ? issue.message : describeIssue(issue);
      return `${variable} ${rule}`;
    });
    throw new ConfigurationError(`Invalid configuration: ${problems.join('; ')}`);
  }

  const env = result.data;
  return {
    env: env.NODE_ENV,
    http: {
      host: env.HOST,
      port: env.PORT,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      trustedProxies: env.TRUSTED_PROXIES,
      corsOrigins: env.CORS_ORIGINS,
    },
    logLevel: env.LOG_LEVEL,
    database: {
      url: env.DATABASE_URL,
      poolSize: env.DATABASE_POOL_SIZE,
      connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
      queryTimeoutMs: env.DATABASE_QUERY_TIMEOUT_MS,
      migrationsRun: env.MIGRATIONS_RUN,
      embeddedDir: env.EMBEDDED_POSTGRES_DIR,
      embeddedPort: env.EMBEDDED_POSTGRES_PORT,
    },
    jwt: {
      algorithm: env.JWT_ALGORITHM,
      secret: env.JWT_SECRET,
      keysDir: env.JWT_KEYS_DIR,
      keys: env.JWT_KEYS,
      keysReloadIntervalMs: env.JWT_KEYS_RELOAD_INTERVAL_MS,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    },
    sessions: {
      refreshTokenSecret: env.REFRESH_TOKEN_SECRET,
      refreshGraceSeconds: env.REFRESH_GRACE_SECONDS,
      ttlSeconds: env.SESSION_TTL_SECONDS,
      idleTimeoutSeconds: env.SESSION_IDLE_TIMEOUT_SECONDS,
      cleanupIntervalSeconds: env.SESSION_CLEANUP_INTERVAL_SECONDS,
      retentionSeconds: env.SESSION_RETENTION_SECONDS,
    },
    tokenCache: {
      enabled: env.TOKEN_CACHE_ENABLED,
      ttlMs: env.TOKEN_CACHE_TTL_MS,
      maxEntries: env.TOKEN_CACHE_MAX_ENTRIES,
      probeIntervalMs: env.INVALIDATION_PROBE_INTERVAL_MS,
      testReadDelayMs: env.NODE_ENV === 'test' ? env.TOKEN_STATE_READ_DELAY_MS : 0,
    },
    argon2: {
      memoryCost: env.ARGON2_MEMORY_KIB,
      timeCost: env.ARGON2_TIME_COST,
      parallelism: env.ARGON2_PARALLELISM,
    },
    rateLimit: {
      enabled: env.RATE_LIMIT_ENABLED,
      redisUrl: env.REDIS_URL,
      redisPrefix: env.RATE_LIMIT_REDIS_PREFIX,
      windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
      loginPerAccount: env.RATE_LIMIT_LOGIN_PER_ACCOUNT,
      loginPerAddress: env.RATE_LIMIT_LOGIN_PER_ADDRESS,
      refreshPerAddress: env.RATE_LIMIT_REFRESH_PER_ADDRESS,
      registerPerAddress: env.RATE_LIMIT_REGISTER_PER_ADDRESS,
    },
    introspectionClients: env.INTROSPECTION_CLIENTS,
    metrics: {
      token: env.METRICS_TOKEN,
    },
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `must be a ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string') return Number(issue.minimum) === 1 ? 'must not be empty' : `must be at least ${String(issue.minimum)} characters long`;
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_format':
      // Each URL in the schema carries its own message, which names the scheme.
      if (issue.format === 'url') return issue.message;
      return `must be a valid ${issue.format}`;
    default:
      return 'is invalid';
  }
}

function isJsonArray(text: string): boolean {
  try {
    return Array.isArray(JSON.parse(text));
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

import { ConfigurationError, loadConfig } from '../../src/config/configuration';

const base = { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), REFRESH_TOKEN_SECRET: 'y'.repeat(32) };

function configError(overrides: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...overrides });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('configuration of the security settings', () => {
  it('JWT_ALGORITHM=EdDSA fails with the reason', () => {
    expect(configError({ JWT_ALGORITHM: 'EdDSA' })).toBe(
      'Invalid configuration: JWT_ALGORITHM EdDSA is not supported, because jsonwebtoken cannot verify it; use ES256 or RS256',
    );
  });

  it('JWT_ALGORITHM=none fails', () => {
    expect(configError({ JWT_ALGORITHM: 'none' })).toBe('Invalid configuration: JWT_ALGORITHM must be one of HS256, ES256, RS256');
  });

  it('JWT_CLOCK_TOLERANCE_SECONDS above 60 fails', () => {
    expect(configError({ JWT_CLOCK_TOLERANCE_SECONDS: '61' })).toBe('Invalid configuration: JWT_CLOCK_TOLERANCE_SECONDS must be a whole number from 0 to 60');
  });

  it('negative JWT_CLOCK_TOLERANCE_SECONDS fails', () => {
    expect(configError({ JWT_CLOCK_TOLERANCE_SECONDS: '-1' })).toBe('Invalid configuration: JWT_CLOCK_TOLERANCE_SECONDS must be a whole number from 0 to 60');
  });

  it('JWT_SECRET shorter than 32 bytes fails without echoing it', () => {
    const message = configError({ JWT_SECRET: 'short-secret' });
    expect(message).toBe('Invalid configuration: JWT_SECRET must be at least 32 bytes long');
  });

  it('JWT_KEYS_DIR that does not exist fails', () => {
    const message = configError({ JWT_ALGORITHM: 'ES256', JWT_KEYS_DIR: '/nonexistent/verso-keys' });
    expect(message).toBe('Invalid configuration: JWT_KEYS_DIR must name an existing directory');
  });

  it('METRICS_TOKEN shorter than 32 bytes fails without echoing it', () => {
    const message = configError({ METRICS_TOKEN: 'short-metrics-token' });
    expect(message).toBe('Invalid configuration: METRICS_TOKEN must be at least 32 bytes long');
  });

  it('METRICS_TOKEN with a newline fails without echoing it', () => {
    const message = configError({ METRICS_TOKEN: `${'m'.repeat(40)}\n` });
    expect(message).toBe('Invalid configuration: METRICS_TOKEN must contain only letters, digits and - . _ ~ + /, with = allowed only at the end');
  });

  it('METRICS_TOKEN is kept, and unset by default', () => {
    const token = 'Zm9vYmFyYmF6cXV4-._~+/0123456789abcdef==';
    expect(loadConfig({ ...base, METRICS_TOKEN: token }).metrics).toEqual({ token });
    expect(loadConfig(base).metrics).toEqual({ token: undefined });
  });

  it('BODY_LIMIT_BYTES above 10 MiB fails', () => {
    expect(configError({ BODY_LIMIT_BYTES: String(20 * 1024 * 1024) })).toBe('Invalid configuration: BODY_LIMIT_BYTES must be a whole number from 1024 to 10485760');
  });

  it('SESSION_CLEANUP_INTERVAL_SECONDS above a day fails', () => {
    expect(configError({ SESSION_CLEANUP_INTERVAL_SECONDS: '3000000' })).toBe('Invalid configuration: SESSION_CLEANUP_INTERVAL_SECONDS must be a whole number from 1 to 86400');
  });

  it('defaults keep rate limits on and CORS off', () => {
    const config = loadConfig(base);
    expect(config.rateLimit).toEqual({
      enabled: true,
      redisUrl: undefined,
      redisPrefix: 'verso:rate-limit:',
      windowSeconds: 60,
      loginPerAccount: 10,
      loginPerAddress: 30,
      refreshPerAddress: 60,
      registerPerAddress: 10,
    });
    expect(config.http.corsOrigins).toEqual([]);
    expect(config.http.trustedProxies).toEqual([]);
    expect(config.jwt.keysReloadIntervalMs).toBe(0);
  });
});

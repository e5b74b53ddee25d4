import { loadConfig } from '../src/config/configuration';

const base = { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), REFRESH_TOKEN_SECRET: 'y'.repeat(32) };
const secret = 'S3cret-value_with.only~unreserved-chars';

describe('INTROSPECTION_CLIENTS', () => {
  it('is empty when unset', () => {
    expect(loadConfig(base).introspectionClients).toEqual([]);
  });

  it('parses id:secret pairs separated by commas', () => {
    const config = loadConfig({ ...base, INTROSPECTION_CLIENTS: ` gateway:${secret} , reports.service:${secret}x,` });

    expect(config.introspectionClients).toEqual([
      { id: 'gateway', secret },
      { id: 'reports.service', secret: `${secret}x` },
    ]);
  });

  it.each([
    ['an entry without a secret', 'gateway', 'entry 1 must be id:secret'],
    ['an empty id', `:${secret}`, 'entry 1 must be id:secret'],
    ['a short secret', 'gateway:short', 'entry 1 needs a secret of 32 to 256'],
    ['a secret with a reserved character', `gateway:${secret}/`, 'entry 1 needs a secret of 32 to 256'],
    ['a repeated id', `gateway:${secret},gateway:${secret}x`, 'entry 2 repeats a client id'],
  ])('rejects %s without echoing it', (_case, value, message) => {
    const load = () => loadConfig({ ...base, INTROSPECTION_CLIENTS: value });

    expect(load).toThrow(`INTROSPECTION_CLIENTS ${message}`);
    expect(load).not.toThrow(secret);
  });
});

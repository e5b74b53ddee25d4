import { randomBytes } from 'node:crypto';

import { http, HttpResult } from './http';

export interface TestClient {
  id: string;
  secret: string;
}

/** Two client credentials and the INTROSPECTION_CLIENTS value that configures them. */
export function testClients(): { gateway: TestClient; reports: TestClient; environment: string } {
  const gateway = { id: 'gateway', secret: randomBytes(32).toString('base64url') };
  const reports = { id: 'reports.service', secret: randomBytes(32).toString('base64url') };
  return { gateway, reports, environment: `${gateway.id}:${gateway.secret},${reports.id}:${reports.secret}` };
}

/** POST /oauth/introspect with a form-encoded token, as a gateway would. */
export function introspect(baseUrl: string, token: string, client: TestClient): Promise<HttpResult> {
  return http(baseUrl, 'POST', '/oauth/introspect', { basic: client, form: { token } });
}

/** A small JSON client for tests: every call returns status, headers and parsed body. */
export interface HttpResult<Body = any> {
  status: number;
  headers: Headers;
  body: Body;
}

export interface HttpOptions {
  token?: string;
  body?: unknown;
  /** A form-encoded body (application/x-www-form-urlencoded); a parameter given as an array is sent once per value. */
  form?: Record<string, string | string[]>;
  /** HTTP Basic credentials. */
  basic?: { id: string; secret: string };
  headers?: Record<string, string>;
}

export async function http<Body = any>(baseUrl: string, method: string, path: string, options: HttpOptions = {}): Promise<HttpResult<Body>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.basic) headers.authorization = basicAuthorization(options.basic.id, options.basic.secret);

  let body: string | undefined;
  if (options.form !== undefined) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    const pairs = Object.entries(options.form).flatMap(([name, value]) => [value].flat().map((item): [string, string] => [name, item]));
    body = new URLSearchParams(pairs).toString();
  } else if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }

  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, headers: response.headers, body: parsed as Body };
}

/** Build an Authorization header for HTTP Basic, with both parts form-encoded first as RFC 6749 section 2.3.1 requires. */
export function basicAuthorization(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export interface LoggedInUser {
  email: string;
  password: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

let counter = 0;

/** Register a user with a unique email (or the one given) and log in once. */
export async function registerAndLogin(baseUrl: string, overrides: { email?: string; password?: string } = {}): Promise<LoggedInUser> {
  counter++;
  const email = overrides.email ?? `user-${process.pid}-${Date.now()}-${counter}@example.com`;
  const password = overrides.password ?? 'correct horse battery staple';

  const registered = await http(baseUrl, 'POST', '/auth/register', { body: { email, password } });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${JSON.stringify(registered.body)}`);

  const session = await login(baseUrl, email, password);
  return { email, password, userId: registered.body.id, ...session };
}

export async function login(baseUrl: string, email: string, password: string): Promise<Omit<LoggedInUser, 'email' | 'password' | 'userId'>> {
  const response = await http(baseUrl, 'POST', '/auth/login', { body: { email, password } });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { accessToken: response.body.accessToken, refreshToken: response.body.refreshToken, sessionId: response.body.sessionId };
}

/** A small JSON client for tests: every call returns status, headers and parsed body. */
export interface HttpResult<Body = any> {
  status: number;
  headers: Headers;
  body: Body;
}

export async function http<Body = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpResult<Body>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';

  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, headers: response.headers, body: body as Body };
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

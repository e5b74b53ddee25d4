import { makeAdminInDatabase } from '../support/accounts';
import { createTestDatabase, TestDatabase } from '../support/database';
import { http, LoggedInUser, registerAndLogin } from '../support/http';
import { badRequest } from '../support/responses';
import { startTestApp, TestApp } from '../support/test-app';

// Unknown body and query fields are rejected with 400. With transform: true,
// class-transformer drops every field whose name is a method the DTO instance
// inherits (constructor, toString, hasOwnProperty...), so without
// StrictValidationPipe the field never reaches the whitelist and the request
// passes.
const PROTOTYPE_NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty'];

describe('unknown fields named after Object.prototype members', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let admin: LoggedInUser;
  let target: LoggedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
    admin = await registerAndLogin(verso.baseUrl);
    await makeAdminInDatabase(database, admin.userId);
    target = await registerAndLogin(verso.baseUrl);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it.each(PROTOTYPE_NAMES)('register body field %s gets 400', async (name) => {
    const body = { email: `extra-${name.toLowerCase()}@example.com`, password: 'correct horse battery staple', [name]: 'x' };
    const response = await http(verso.baseUrl, 'POST', '/auth/register', { body });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest(`property ${name} should not exist`));
    expect(await database.query('SELECT id FROM users WHERE email = $1', [body.email])).toEqual([]);
  });

  it.each(PROTOTYPE_NAMES)('admin lock body field %s gets 400', async (name) => {
    const response = await http(verso.baseUrl, 'POST', `/admin/users/${target.userId}/lock`, {
      body: { reason: 'test', [name]: { nested: true } },
      token: admin.accessToken,
    });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest(`property ${name} should not exist`));
    expect(await database.query('SELECT locked_at FROM users WHERE id = $1', [target.userId])).toEqual([{ locked_at: null }]);
  });

  it.each(PROTOTYPE_NAMES)('admin lookup query parameter %s gets 400', async (name) => {
    const query = new URLSearchParams({ email: target.email, [name]: 'x' });
    const response = await http(verso.baseUrl, 'GET', `/admin/users?${query.toString()}`, { token: admin.accessToken });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest(`property ${name} should not exist`));
  });
});

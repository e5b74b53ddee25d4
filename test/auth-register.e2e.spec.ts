import { createTestDatabase, TestDatabase } from './support/database';
import { http } from './support/http';
import { badRequest, ISO_TIMESTAMP, UUID } from './support/responses';
import { startTestApp, TestApp } from './support/test-app';

const PASSWORD = 'correct horse battery staple';
const EMAIL_TAKEN = { statusCode: 409, message: 'An account with this email already exists.', error: 'Conflict' };

describe('POST /auth/register', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let counter = 0;
  const freshEmail = () => `register-${++counter}@example.com`;
  const register = (body: unknown) => http(verso.baseUrl, 'POST', '/auth/register', { body });

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('returns 201 with the new user', async () => {
    const email = freshEmail();

    const response = await register({ email, password: PASSWORD });

    expect(response.status).toBe(201);
    expect(response.body).toEqual({ id: expect.stringMatching(UUID), email, role: 'user', createdAt: expect.stringMatching(ISO_TIMESTAMP) });
  });

  it('stores only an argon2id hash of the password', async () => {
    const email = freshEmail();
    const response = await register({ email, password: PASSWORD });

    const [row] = await database.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [response.body.id]);

    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain(PASSWORD);
  });

  it('trims whitespace around the email', async () => {
    const email = freshEmail();

    const response = await register({ email: `  ${email} `, password: PASSWORD });

    expect(response.status).toBe(201);
    expect(response.body.email).toBe(email);
  });

  it('returns 409 for a taken email', async () => {
    const email = freshEmail();
    await register({ email, password: PASSWORD });

    const response = await register({ email, password: 'another password' });

    expect(response.status).toBe(409);
    expect(response.body).toEqual(EMAIL_TAKEN);
  });

  it('returns 409 for a taken email in another case', async () => {
    const email = freshEmail();
    await register({ email, password: PASSWORD });

    const response = await register({ email: email.toUpperCase(), password: PASSWORD });

    expect(response.status).toBe(409);
    expect(response.body).toEqual(EMAIL_TAKEN);
  });

  it('returns one 201 and 409s for concurrent registrations of one email', async () => {
    const email = freshEmail();

    const responses = await Promise.all(Array.from({ length: 5 }, () => register({ email, password: PASSWORD })));

    expect(responses.map((response) => response.status).sort()).toEqual([201, 409, 409, 409, 409]);
  });

  it('returns 400 for an invalid email', async () => {
    const response = await register({ email: 'not-an-email', password: PASSWORD });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('email must be a valid email address'));
  });

  it('returns 400 for a short password', async () => {
    const response = await register({ email: freshEmail(), password: 'short' });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('password must be longer than or equal to 8 characters'));
  });

  it('returns 400 for a password over 128 characters', async () => {
    const response = await register({ email: freshEmail(), password: 'p'.repeat(129) });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('password must be shorter than or equal to 128 characters'));
  });

  it('returns 400 for an unknown field', async () => {
    const response = await register({ email: freshEmail(), password: PASSWORD, role: 'admin' });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('property role should not exist'));
  });

  it('returns 400 for a missing password', async () => {
    const response = await register({ email: freshEmail() });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(
      badRequest('password must be shorter than or equal to 128 characters', 'password must be longer than or equal to 8 characters', 'password must be a string'),
    );
  });

  it('returns 400 for a missing email', async () => {
    const response = await register({ password: PASSWORD });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('email must be a valid email address', 'email must be shorter than or equal to 254 characters', 'email must be a string'));
  });

  it('creates no user on a rejected request', async () => {
    const email = freshEmail();
    await register({ email, password: 'short' });

    const rows = await database.query('SELECT id FROM users WHERE lower(email) = lower($1)', [email]);

    expect(rows).toEqual([]);
  });
});

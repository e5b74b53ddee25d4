/** Error bodies that the API returns word for word, so tests can assert them exactly. */
export const TOKEN_REQUIRED = { statusCode: 401, message: 'An access token is required.', error: 'Unauthorized' };
export const INVALID_ACCESS_TOKEN = { statusCode: 401, message: 'The access token is invalid, expired or revoked.', error: 'Unauthorized' };
export const INVALID_REFRESH_TOKEN = { statusCode: 401, message: 'The refresh token is invalid, expired or revoked.', error: 'Unauthorized' };
export const INVALID_CREDENTIALS = { statusCode: 401, message: 'Invalid email or password.', error: 'Unauthorized' };
export const ACCOUNT_LOCKED = { statusCode: 403, message: 'This account is locked.', error: 'Forbidden' };
export const WRONG_CURRENT_PASSWORD = { statusCode: 403, message: 'The current password is incorrect.', error: 'Forbidden' };
export const ADMIN_REQUIRED = { statusCode: 403, message: 'This route requires the admin role.', error: 'Forbidden' };
export const SESSION_NOT_FOUND = { statusCode: 404, message: 'Session not found.', error: 'Not Found' };
export const USER_NOT_FOUND = { statusCode: 404, message: 'User not found.', error: 'Not Found' };

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Build the 400 body that the validation pipe returns for these messages. */
export function badRequest(...messages: string[]) {
  return { statusCode: 400, message: messages, error: 'Bad Request' };
}

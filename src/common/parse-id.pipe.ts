import { NotFoundException, ParseUUIDPipe } from '@nestjs/common';

/**
 * Parse a UUID path parameter. A malformed id gets the same response as an unknown
 * one, with 404 and the same message, so the status never tells them apart.
 */
export function ParseIdPipe(notFoundMessage: string): ParseUUIDPipe {
  return new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException(notFoundMessage) });
}

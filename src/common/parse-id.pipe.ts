import { ArgumentMetadata, NotFoundException, ParseUUIDPipe, PipeTransform } from '@nestjs/common';

/**
 * Parse a UUID path parameter. A malformed id gets the same response as an unknown
 * one, with 404 and the same message, so a client cannot distinguish them.
 *
 * The id is returned in lower case. PostgreSQL compares UUIDs regardless of
 * case, but verso compares ids as strings (an admin's own id, cache keys), so
 * an upper-case spelling must not count as another id.
 */
export function ParseIdPipe(notFoundMessage: string): PipeTransform<string, Promise<string>> {
  const uuid = new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException(notFoundMessage) });
  return {
    transform: async (value: string, metadata: ArgumentMetadata) => String(await uuid.transform(value, metadata)).toLowerCase(),
  };
}

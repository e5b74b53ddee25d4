import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import { FastifyInstance } from 'fastify';

/**
 * Accept request bodies only as JSON objects, and form data only under the
 * given path prefixes (the OAuth endpoints, whose RFCs prescribe it). Every
 * other content type gets 415. A JSON array, null,
 * string or number gets 400 here, because validation would let an array or
 * null pass as an empty object on routes whose fields are all optional.
 * Fastify's secure parser rejects keys named __proto__ or
 * constructor.prototype as invalid JSON, so no body reaches a prototype.
 */
export function acceptOnlyJsonObjectBodies(fastify: FastifyInstance, formPathPrefixes: string[] = []): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');

  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (request, body, done) => {
    if (!formPathPrefixes.some((prefix) => request.url.startsWith(prefix))) {
      done(new UnsupportedMediaTypeException('This route accepts only application/json bodies.'), undefined);
      return;
    }
    done(null, parseForm(body as string));
  });
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) {
      done(new BadRequestException('The request body is empty; send a JSON object, or no Content-Type header.'), undefined);
      return;
    }

    // parseAs: 'string' above, so the body is never a Buffer here.
    parseJson(request, body as string, (error, value: unknown) => {
      if (error) {
        done(new BadRequestException('The request body is not valid JSON.'), undefined);
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        done(new BadRequestException('The request body must be a JSON object.'), undefined);
        return;
      }
      done(null, value);
    });
  });
}

/**
 * Parse form data into an object. A repeated field becomes an array, which
 * the route's own validation rejects: RFC 6749 section 3.1 forbids repeating
 * request parameters.
 */
function parseForm(body: string): Record<string, string | string[]> {
  const fields = new Map<string, string | string[]>();
  for (const [name, value] of new URLSearchParams(body)) {
    const previous = fields.get(name);
    fields.set(name, previous === undefined ? value : [previous, value].flat());
  }
  return Object.fromEntries(fields);
}

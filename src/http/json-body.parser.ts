import { BadRequestException } from '@nestjs/common';
import { FastifyInstance } from 'fastify';

/**
 * Accept request bodies only as JSON objects. Every other content type,
 * text/plain and form data included, gets Fastify's 415. A JSON array, null,
 * string or number gets 400 here, because validation would let an array or
 * null pass as an empty object on routes whose fields are all optional.
 * Fastify's secure parser rejects keys named __proto__ or
 * constructor.prototype as invalid JSON, so no body reaches a prototype.
 */
export function acceptOnlyJsonObjectBodies(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');

  fastify.removeAllContentTypeParsers();
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

import { BadRequestException } from '@nestjs/common';
import { FastifyInstance } from 'fastify';

/**
 * Accept request bodies only as JSON objects. Every other content type,
 * text/plain and form data included, gets Fastify's 415; a JSON array, null,
 * string or number gets 400 before validation, where an array or null would
 * otherwise pass as an empty object on routes whose fields are all optional.
 * Keys named __proto__ or constructor.prototype are rejected as invalid JSON
 * (Fastify's secure parser), so no body can reach an object's prototype.
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

import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { FastifyRequest } from 'fastify';

import { clientAddress } from '../http/client-address';

/** The origin of a request, recorded on sessions and audit events. */
export interface ClientInfo {
  // Resolved through X-Forwarded-For only from TRUSTED_PROXIES, and always a valid address.
  ip: string | null;
  userAgent: string | null;
}

const USER_AGENT_MAX_LENGTH = 512;

export const Client = createParamDecorator((_data: unknown, context: ExecutionContext): ClientInfo => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  const userAgent = request.headers['user-agent'];
  return {
    ip: clientAddress(request),
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, USER_AGENT_MAX_LENGTH) : null,
  };
});
